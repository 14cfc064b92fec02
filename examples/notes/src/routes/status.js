const started = Date.now();

/** Whether the service is up, and which version answers. */
export default async function statusRoutes(app, { config }) {
  app.get('/status', async () => ({
    service: 'notes',
    status: 'ok',
    version: config.version,
    uptimeSeconds: Math.floor((Date.now() - started) / 1000),
  }));
}
