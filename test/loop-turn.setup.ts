/**
 * Every test file: the worker's event loop turns after each test. Tests that run the real command with
 * spawnSync block it for seconds each; one after another they never give it a turn, so vitest's own
 * calls to the main process (task updates, answered at once) are read only after the whole run of
 * them, and past 60 s the worker fails the file with 'Timeout calling "onTaskUpdate"' though every test
 * passed. A turn after each test bounds that wait to one test's time.
 */
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
