// The roles a server can have in a farm: a constant of its own, so that code which only names roles
// (farm init, its wizard) does not load zod and the whole schema at start-up.
export const ROLES = ['application', 'scheduling', 'optimization', 'integration', 'web', 'database'] as const;
export type Role = (typeof ROLES)[number];
