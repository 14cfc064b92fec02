/** One email. Text is always present; HTML is optional. */
export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** Links worth printing in a terminal next to the message (embedded mode prints them). */
  links?: { label: string; url: string }[];
  /** Free-form tags for logs and tests, e.g. `{ kind: 'approval-request', releaseId }`. */
  tags?: Record<string, string>;
}

/** Sends email: SES on AWS, the local outbox of `.eml` files embedded. */
export interface Notifier {
  send(message: EmailMessage): Promise<{ messageId: string }>;
}
