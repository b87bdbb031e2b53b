/**
 * Names shared by the server's re-authentication check and the confirm dialog that asks for the
 * password (this file is safe to import from client components).
 */

/**
 * The field a `reauth` server action's caller puts its own password in. Named apart from "password"
 * so an action that sets a password (adding a user) can ask for both.
 */
export const REAUTH_FIELD = "reauth_password";

/** Browser callers of a `reauth` route handler send their password again in this header. */
export const REAUTH_HEADER = "x-mimir-password";
