/**
 * `bscups station list | head -1` closes the pipe while the CLI still writes.
 * Node then reports EPIPE as an error event, which crashes with a stack trace.
 * The reader has all it wanted, so the rest of the output is dropped quietly and
 * the command finishes its work (a change it was making is not cut in half).
 */
export function dropOutputOnClosedPipe(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
      throw e;
    });
  }
}
