import { GwError } from './errors.js';
import type { ResourceTypeInfo } from './config-model.js';

/** A resource name is one directory on disk: no slashes, no leading dot, no control characters. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/;
const TYPE_RE = /^[a-z][a-z0-9-]{0,63}$/;

export interface ResourceAddress {
  type: ResourceTypeInfo;
  name: string | null;
  /** Normalised text form: `<type>/<name>` or `<type>`. */
  address: string;
}

export function formatAddress(type: string, name: string | null): string {
  return name === null ? type : `${type}/${name}`;
}

export function isValidName(name: string): boolean {
  return NAME_RE.test(name) && !name.endsWith(' ');
}

/**
 * Parse `<type>/<name>` (or `<type>` for a singleton) against the type registry. Every refusal is
 * coded: an unknown type lists the known ones, a malformed address says what the form is.
 */
export function parseAddress(text: string, types: ReadonlyMap<string, ResourceTypeInfo>): ResourceAddress {
  const slash = text.indexOf('/');
  const typeName = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? null : text.slice(slash + 1);
  if (!TYPE_RE.test(typeName)) {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', { address: text, detail: `"${typeName}" is not a type name` });
  }
  const type = types.get(typeName);
  if (!type) {
    const known = [...types.keys()].sort();
    throw new GwError('GW_ERR_CONFIG_UNKNOWN_TYPE', { type: typeName, known: known.join(', ') }, { known });
  }
  if (type.singleton && name !== null) {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', {
      address: text,
      detail: `${typeName} is a singleton and takes no name; use "${typeName}"`,
    });
  }
  if (!type.singleton && name === null) {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', {
      address: text,
      detail: `${typeName} resources are named; use "${typeName}/<name>"`,
    });
  }
  if (name !== null && !isValidName(name)) {
    throw new GwError('GW_ERR_CONFIG_BAD_ADDRESS', {
      address: text,
      detail: `"${name}" is not a resource name (1 to 128 of A-Z a-z 0-9 space . _ -, starting with a letter or digit)`,
    });
  }
  return { type, name, address: formatAddress(typeName, name) };
}
