import { SendEmailCommand, type SESv2Client, type MessageTag } from '@aws-sdk/client-sesv2';
import type { EmailMessage, Notifier } from './notifier.js';

/** Options of the SES notifier. */
export interface SesNotifierOptions {
  /** SES configuration set for delivery events. @default none */
  configurationSetName?: string;
}

/** SES message tags allow only `[A-Za-z0-9_-]`, up to 256 characters, in names and values. */
function sesTag(name: string, value: string): MessageTag {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
  return { Name: clean(name), Value: clean(value) };
}

/** Email through Amazon SES v2 `SendEmail` with simple content (subject, text and optional HTML), on AWS. */
export class SesNotifier implements Notifier {
  constructor(
    private readonly ses: SESv2Client,
    private readonly from: string,
    private readonly opts: SesNotifierOptions = {},
  ) {}

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    if (message.to.length === 0) throw new Error('an email needs at least one recipient');
    const out = await this.ses.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: message.to },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: message.text, Charset: 'UTF-8' },
              ...(message.html !== undefined ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}),
            },
          },
        },
        ...(message.tags && Object.keys(message.tags).length > 0
          ? { EmailTags: Object.entries(message.tags).map(([k, v]) => sesTag(k, v)) }
          : {}),
        ...(this.opts.configurationSetName ? { ConfigurationSetName: this.opts.configurationSetName } : {}),
      }),
    );
    if (!out.MessageId) throw new Error('SES SendEmail returned no MessageId');
    return { messageId: out.MessageId };
  }
}
