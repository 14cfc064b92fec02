import { getConfig, type Config } from '../config.js';
import type { Notifier } from './notifier.js';
import { OutboxNotifier, type OutboxNotifierOptions } from './outbox-notifier.js';
import { SesNotifier } from './ses-notifier.js';
import { sesClient } from '../clients.js';

export type { EmailMessage, Notifier } from './notifier.js';
export { OutboxNotifier, printsLinks, type OutboxNotifierOptions } from './outbox-notifier.js';
export { SesNotifier, type SesNotifierOptions } from './ses-notifier.js';

/**
 * The notifier the configuration asks for: `NOTIFIER=outbox` writes `.eml` files to `OUTBOX_DIR` (embedded mode),
 * `NOTIFIER=ses` sends through SES from `MAIL_FROM` (AWS).
 */
export function notifierFromConfig(config: Config = getConfig(), outbox: Pick<OutboxNotifierOptions, 'print'> = {}): Notifier {
  switch (config.NOTIFIER) {
    case 'outbox':
      if (!config.OUTBOX_DIR) throw new Error('Launchway configuration is missing OUTBOX_DIR, which NOTIFIER=outbox needs');
      return new OutboxNotifier(config.OUTBOX_DIR, { from: config.MAIL_FROM, printLinks: config.OUTBOX_PRINT_LINKS, ...outbox });
    case 'ses':
      return new SesNotifier(sesClient(), config.MAIL_FROM);
  }
}
