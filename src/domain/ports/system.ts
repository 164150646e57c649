/** Side effects every service may need: the clock, ids, password hashing, sealing secrets, mail. */

export interface Clock { now(): Date }
export interface IdGenerator { id(): string; token(bytes?: number): string }

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** Symmetric encryption for secrets at rest (provider keys, bot tokens). */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** Outgoing e-mail (sign-up verification, password reset, magic links, alerts). */
export type OutgoingMail = { to: string; subject: string; text: string; html?: string };
export interface Mailer {
  /** Whether an SMTP server is set (SMTP_URL, or the SMTP settings in the dashboard). */
  configured(): Promise<boolean>;
  /** Sends one mail; throws when the server refuses or cannot be reached. */
  send(m: OutgoingMail): Promise<void>;
}
