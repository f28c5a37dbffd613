import { QueueServiceClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { attachPolicy } from './attach-policy';
import type { MessageQueue, QueueFactory } from '../../ports/queues';

const MAX_MESSAGE = 64 * 1024;

/**
 * Messages go out as base64 of their JSON, because host.json says "messageEncoding": "base64" and the
 * Functions queue trigger decodes that way; @azure/storage-queue itself sends text as is.
 */
export class AzureQueueFactory implements QueueFactory {
  private constructor(private readonly service: QueueServiceClient) {}

  static fromConnectionString(connectionString: string, opts: { policies?: PipelinePolicy[] } = {}): AzureQueueFactory {
    return AzureQueueFactory.with(QueueServiceClient.fromConnectionString(connectionString), opts.policies);
  }

  static fromEndpoint(url: string, credential: TokenCredential, opts: { policies?: PipelinePolicy[] } = {}): AzureQueueFactory {
    return AzureQueueFactory.with(new QueueServiceClient(url, credential), opts.policies);
  }

  private static with(service: QueueServiceClient, policies: PipelinePolicy[] = []): AzureQueueFactory {
    for (const p of policies) attachPolicy(service, p);
    return new AzureQueueFactory(service);
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
