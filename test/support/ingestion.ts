import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { generate } from 'selfsigned';

/**
 * As on Azure Functions: the distro's resource detector finds the platform (so it probes no instance-metadata
 * endpoint off the machine), and the SDK's own usage statistics are not sent anywhere.
 */
export function quietAzureMonitorEnv(): void {
  Object.assign(process.env, {
    WEBSITE_SITE_NAME: 'vmbackup-test',
    FUNCTIONS_VERSION: '4',
    WEBSITE_SKU: 'FlexConsumption',
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
    APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
  });
}

/**
 * Application Insights' ingestion endpoint on loopback, over HTTPS with a certificate of its own (the exporter
 * turns an http endpoint into https): takes the exporter's POSTs (gzip JSON envelopes) and answers as ingestion does.
 */
export async function ingestion(): Promise<{ url: string; ca: string; payloads: string[]; server: Server }> {
  const payloads: string[] = [];
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    days: 1,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  } as Parameters<typeof generate>[1]);
  const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      payloads.push(text);
      const n = (() => {
        try {
          const v = JSON.parse(text);
          return Array.isArray(v) ? v.length : 1;
        } catch {
          return text.split('\n').filter(Boolean).length;
        }
      })();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: n, itemsAccepted: n, errors: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, ca: pems.cert, payloads, server };
}

/** The connection string that points the exporter at a loopback ingestion endpoint. */
export const connectionStringFor = (url: string): string => `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${url}`;
