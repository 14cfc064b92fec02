/** The two environments every service is released to, in order. */
export type Environment = 'staging' | 'production';
