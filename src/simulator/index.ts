export { createSimulatedStation } from './station.js';
export { initStationHome, readStationHome, stationFilesIn, type StationHomeInit, type StationHomeState } from './home.js';
export { nextExchangeDelay, OK_SYNC_INTERVAL_MS, RESYNC_INTERVAL_MS } from './schedule.js';
export { CONTENT_SIZE_ERROR } from './http-client.js';
export type { AppliedPart } from './apply.js';
export type { UpdateReport } from './firmware.js';
export type { ExchangeResult, RawExchangeResponse, RunOptions, SimulatedStation, SimulatedStationOptions } from './types.js';
