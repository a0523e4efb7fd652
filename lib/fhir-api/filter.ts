/**
 * A query filter in MongoDB's query language, as plain data: the core plans it, the adapter runs it.
 * Paths are resource paths, since a stored document is the resource itself (`_id` = its id).
 */
export type Filter = { [key: string]: unknown };
