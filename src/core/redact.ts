/**
 * Removes secrets from text that may reach a log, a job row or a response: SAS query strings, account keys,
 * connection strings, bearer tokens. Applied to every error text we did not write ourselves.
 */
export function redact(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s?"'<>]+)\?[^\s"'<>]*/gi, '$1?[redacted]')
    .replace(/(AccountKey|SharedAccessSignature|sig|AccessToken)=[^;&\s"']+/gi, '$1=[redacted]')
    .replace(/Bearer\s+[A-Za-z0-9\-._~+/]+=*/g, 'Bearer [redacted]');
}
