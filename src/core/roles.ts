/**
 * A node's role and activity: the two words everything else is built on. In their own file so that
 * settings, config and status types can all name them without importing one another.
 */
export type Role = 'Independent' | 'Master' | 'Backup';
export type Activity = 'Active' | 'Warm' | 'Cold';
