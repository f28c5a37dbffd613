/**
 * Where alerts go: a webhook that takes `{ "text": ... }`, the one body both Slack incoming webhooks
 * (https://api.slack.com/messaging/webhooks) and Teams incoming webhooks
 * (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using) accept.
 * `send` throws when the receiver did not take it (any status but 2xx, or no answer), so the caller retries.
 */
export interface AlertChannel {
  send(body: { text: string }): Promise<void>;
}
