import type { FhirResource } from '../fhir';

/**
 * Reference binding, the pure part. A mapping names a target it cannot compute the id of by
 * writing a FHIR logical reference: `{ type: 'Patient', identifier: { system, value } }` with no
 * `reference` (R4 Reference.identifier; a CSV of observations naming the patient by MRN). Binding
 * adds `reference: 'Patient/<id>'` once a Patient with that identifier is in the store; the
 * identifier stays, as R4 allows both.
 */

/** An unbound reference by identifier, found at a dot path of a resource (`subject`, `performer.0`). */
export type IdentifierReference = { path: string; targetType: string; system: string; value: string };

/** A resource's own identifier. */
export type IdentifierKey = { system: string; value: string };

/** A reference waiting for its target (`medstream_pending_references`). */
export type PendingReference = {
  _id: string;
  sourceType: string;
  sourceId: string;
  path: string;
  targetType: string;
  system: string;
  value: string;
  /** `system|value`, what a target's identifiers are matched on. */
  key: string;
};

/** A reference to set: `reference` at `path` of the resource `sourceType/sourceId`. */
export type Binding = {
  sourceType: string;
  sourceId: string;
  path: string;
  system: string;
  value: string;
  reference: string;
};

/** A candidate target: its id and identifiers, as read from its collection. */
export type TargetCandidate = { id: string; identifier?: unknown };

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
// Paths become Mongo dot paths: only FHIR element names and array indexes.
const PATH_SEGMENT = /^([A-Za-z][A-Za-z0-9_]{0,63}|\d{1,4})$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `system|value`. */
export const identifierKeyOf = (system: string, value: string): string => `${system}|${value}`;

/** The pending entry's id: one per reference slot of a resource. */
export const pendingIdOf = (sourceType: string, sourceId: string, path: string): string =>
  `${sourceType}/${sourceId}#${path}`;

const asIdentifier = (value: unknown): IdentifierKey | undefined => {
  if (!isObject(value)) return undefined;
  const { system, value: identifierValue } = value;
  if (typeof system !== 'string' || typeof identifierValue !== 'string') return undefined;
  if (system === '' || identifierValue === '') return undefined;
  return { system, value: identifierValue };
};

/**
 * Every unbound reference by identifier in a resource: an object with a resource `type` (a string:
 * an Identifier's own `type` is a CodeableConcept, so a resource's identifiers never match), an
 * `identifier` with system and value, and no `reference`. The resource's top-level `identifier`,
 * `meta` and `contained` are not references.
 */
export const findUnboundReferences = (resource: FhirResource): IdentifierReference[] => {
  const found: IdentifierReference[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        visit(item, [...path, String(index)]);
      });
      return;
    }
    if (!isObject(node)) return;
    const identifier = asIdentifier(node.identifier);
    if (
      path.length > 0 &&
      identifier !== undefined &&
      typeof node.type === 'string' &&
      RESOURCE_TYPE.test(node.type) &&
      node.reference === undefined &&
      path.every((segment) => PATH_SEGMENT.test(segment))
    ) {
      found.push({ path: path.join('.'), targetType: node.type, ...identifier });
      return;
    }
    for (const [name, child] of Object.entries(node)) {
      if (path.length === 0 && (name === 'identifier' || name === 'meta' || name === 'contained')) continue;
      visit(child, [...path, name]);
    }
  };
  visit(resource, []);
  return found;
};

/** A resource's own identifiers (system and value both present). */
export const identifiersOf = (resource: Readonly<Record<string, unknown>>): IdentifierKey[] =>
  (Array.isArray(resource.identifier) ? resource.identifier : [])
    .map(asIdentifier)
    .filter((identifier): identifier is IdentifierKey => identifier !== undefined);

/**
 * The filter that finds the targets of these references in their type's collection: per identifier
 * system, its values in one `$in` (an `$or` only across systems). The identifier index serves it;
 * an `$or` of one clause per reference did not on SecantusDB (a collection scan per clause: a
 * transform of 500 lab rows by MRN ran past its timeout at 50,000 patients). On MongoDB, without
 * `$elemMatch` only the system's bounds apply: one scan of its range instead of one per reference.
 * Candidates may match a system and a value of two different identifiers: `resolveTargets` keeps
 * exact pairs only.
 */
export const identifierLookupFilter = (
  references: readonly IdentifierReference[],
): Record<string, unknown> => {
  const valuesBySystem = new Map<string, Set<string>>();
  for (const { system, value } of references) {
    const values = valuesBySystem.get(system) ?? new Set<string>();
    values.add(value);
    valuesBySystem.set(system, values);
  }
  const clauses = [...valuesBySystem].map(([system, values]) => ({
    'identifier.system': system,
    'identifier.value': { $in: [...values] },
  }));
  const [only] = clauses;
  return clauses.length === 1 && only !== undefined ? only : { $or: clauses };
};

/**
 * The target each identifier resolves to among candidates of one type: a candidate matches when
 * one of its identifiers has both the system and the value. Two candidates with one identifier
 * (two sources registering one MRN) resolve to the smallest id, so every binder picks the same.
 */
export const resolveTargets = (
  candidates: readonly TargetCandidate[],
  targetType: string,
): Map<string, string> => {
  const resolved = new Map<string, string>();
  for (const candidate of candidates) {
    for (const identifier of identifiersOf(candidate)) {
      const key = identifierKeyOf(identifier.system, identifier.value);
      const current = resolved.get(key);
      const reference = `${targetType}/${candidate.id}`;
      if (current === undefined || reference < current) resolved.set(key, reference);
    }
  }
  return resolved;
};

/** Sets the resolved references on a copy of the resource; returns it unchanged if none resolved. */
export const applyReferences = (
  resource: FhirResource,
  references: readonly IdentifierReference[],
  resolved: (targetType: string, key: string) => string | undefined,
): FhirResource => {
  const bindings = references
    .map((reference) => ({
      path: reference.path,
      target: resolved(reference.targetType, identifierKeyOf(reference.system, reference.value)),
    }))
    .filter((binding): binding is { path: string; target: string } => binding.target !== undefined);
  if (bindings.length === 0) return resource;
  const copy = structuredClone(resource) as Record<string, unknown>;
  for (const { path, target } of bindings) {
    let node: unknown = copy;
    for (const segment of path.split('.')) node = (node as Record<string, unknown>)[segment];
    if (isObject(node)) node.reference = target;
  }
  return copy as FhirResource;
};

/** Pending entries for the references a written resource still has unbound. */
export const planPendingReferences = (
  resourceType: string,
  resource: FhirResource,
  references: readonly IdentifierReference[],
): PendingReference[] =>
  references.map((reference) => ({
    _id: pendingIdOf(resourceType, resource.id, reference.path),
    sourceType: resourceType,
    sourceId: resource.id,
    path: reference.path,
    targetType: reference.targetType,
    system: reference.system,
    value: reference.value,
    key: identifierKeyOf(reference.system, reference.value),
  }));

/** Bindings of pending references to targets just written (target side). */
export const planTargetBindings = (
  pending: readonly PendingReference[],
  targetType: string,
  targets: readonly TargetCandidate[],
): Binding[] => {
  const resolved = resolveTargets(targets, targetType);
  const bindings: Binding[] = [];
  for (const entry of pending) {
    if (entry.targetType !== targetType) continue;
    const reference = resolved.get(entry.key);
    if (reference === undefined) continue;
    bindings.push({
      sourceType: entry.sourceType,
      sourceId: entry.sourceId,
      path: entry.path,
      system: entry.system,
      value: entry.value,
      reference,
    });
  }
  return bindings;
};

/**
 * The guarded update of one binding: only while the slot still holds that identifier and has no
 * reference, so a binding never overwrites a newer version's reference or identifier.
 */
export const planBindingUpdate = (
  binding: Binding,
): { filter: Record<string, unknown>; update: { $set: Record<string, string> } } => ({
  filter: {
    _id: binding.sourceId,
    [`${binding.path}.identifier.system`]: binding.system,
    [`${binding.path}.identifier.value`]: binding.value,
    [`${binding.path}.reference`]: { $exists: false },
  },
  update: { $set: { [`${binding.path}.reference`]: binding.reference } },
});
