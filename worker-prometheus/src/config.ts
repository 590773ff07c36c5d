import { doc, logShape, moexShape, port } from '../../lib/config';
import { httpShape } from '../../lib/web-config';

/** The worker's environment (docs/configuration.md): the poller's and the HTTP shell's. */
export const workerShape = {
  ...moexShape,
  ...logShape,
  ...httpShape,
  PORT: doc("the worker's port: /metrics, /healthz, /readyz", port(8000)),
};
