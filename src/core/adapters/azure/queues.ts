import { QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { MessageQueue, QueueFactory } from '../../ports/queues';

type ExtraPolicies = { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
const MAX_MESSAGE = 64 * 1024;

/**
 * Messages go out as base64 of their JSON, because host.json says "messageEncoding": "base64" and the
 * Functions queue trigger decodes that way; @azure/storage-queue itself sends text as is.
 */
export class AzureQueueFactory implements QueueFactory {
  private constructor(private readonly service: QueueServiceClient) {}

  static fromConnectionString(connectionString: string, opts: { additionalPolicies?: ExtraPolicies } = {}): AzureQueueFactory {
    return new AzureQueueFactory(QueueServiceClient.fromConnectionString(connectionString, opts as StoragePipelineOptions));
  }

  static fromEndpoint(url: string, credential: TokenCredential, opts: { additionalPolicies?: ExtraPolicies } = {}): AzureQueueFactory {
    return new AzureQueueFactory(new QueueServiceClient(url, credential, opts as StoragePipelineOptions));
  }

  queue(name: string): MessageQueue {
    const client = this.service.getQueueClient(name);
    const poison = this.service.getQueueClient(`${name}-poison`);
    return {
      name,
      async ensure() {
        await client.createIfNotExists();
        await poison.createIfNotExists();
      },
      async send(message, options) {
        const text = Buffer.from(JSON.stringify(message)).toString('base64');
        if (text.length > MAX_MESSAGE) throw new RangeError(`queue message for ${name} is ${text.length} bytes encoded; the limit is 64 KiB`);
        await client.sendMessage(text, options?.visibilityDelaySeconds ? { visibilityTimeout: options.visibilityDelaySeconds } : undefined);
      },
    };
  }
}
