// Loaded into every ava worker before its test file (the `require` entry of
// ava's configuration in package.json and ava.isolated.config.mjs).
//
// Once a file's tests and hooks are all done, its worker should exit on its
// own. Now and then, under load, the Kafka consumer test's worker has not:
// some client connection outlived its test's teardown. ava then waited for
// its 2-minute inactivity timeout and failed the whole run, without saying
// what was still open. This says what was, and ends the worker; the file's
// tests have all reported by then.
import { registerCompletionHandler } from "ava";

const GRACE_MS = 10_000;

registerCompletionHandler(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== "Timeout");
    process.stderr.write(
      `[exit-watchdog] test worker ${process.pid}: still running ${GRACE_MS / 1000} s after its last test; ` +
        `open: ${open.join(", ") || "(timers only)"}; exiting\n`,
    );
    process.exit(0);
  }, GRACE_MS).unref();
});
