import { app } from '@azure/functions';
import { getDeps } from './lib/runtime';
import { checkHealth } from '../core/views/health';
import { openApiDocument } from './lib/openapi';
import { PolicySchema } from '../core/domain/policy';

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: async () => {
    try {
      const h = await checkHealth(await getDeps());
      return { status: h.status === 'Healthy' ? 200 : 503, jsonBody: h };
    } catch (err) {
      // Configuration problems are listed by name (never values) so an operator can fix them.
      const message = (err as Error).name === 'ConfigError' ? (err as Error).message : 'The app could not start its dependencies.';
      return { status: 503, jsonBody: { status: 'Unhealthy', error: { code: 'NotReady', message, recommendedAction: 'Check the app settings and the storage account.' } } };
    }
  },
});

app.http('openapi', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'openapi.json',
  handler: async () => ({ jsonBody: openApiDocument(PolicySchema) }),
});
