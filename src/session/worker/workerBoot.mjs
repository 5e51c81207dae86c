// Worker entry: the relay's sources are TypeScript run through tsx, and a worker thread does
// not inherit the parent's loader, so register it here before loading the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
