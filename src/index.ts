/**
 * This project's own Worker: the relay mounted at the root, with the
 * defaults every option has (JWT when AUTH_SECRET is set, ALLOWED_ORIGINS,
 * ADMIN_TOKEN, the UPGRADES budget). It is built from the same exports a
 * Worker of yours would import from `edge-relay/server`.
 */
import { relay } from "./server";

export { Directory, Document, Hub, Room, Shard } from "./server";

export default relay<Env>({ rooms: (env) => env.ROOMS, documents: (env) => env.DOCS });
