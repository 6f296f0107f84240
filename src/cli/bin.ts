#!/usr/bin/env node
import { dropOutputOnClosedPipe } from './closed-pipe.js';
import { main } from './main.js';

dropOutputOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
