// What a column holds, apart from the writers: a dataset's fields read it too (several models,
// preference pairs) without loading every format.
/** A column of one value: from a dataset's schema, else text; metrics are numbers. */
export type ScalarType = "string" | "integer" | "number" | "boolean";

/** What a column holds: a value, a list (a schema's array) or a struct (an object with its properties). */
export type ColumnType = ScalarType | { list: ColumnType } | { struct: Record<string, ColumnType> };

/** The column type of a JSON Schema: arrays are lists, objects with properties structs, anything else text. */
export function columnTypeOf(schema: unknown): ColumnType {
  const { type, items, properties } = (schema ?? {}) as {
    type?: unknown;
    items?: unknown;
    properties?: unknown;
  };
  // A nullable field (`type: [string, "null"]`) has its other type.
  const named = Array.isArray(type) ? type.find((t) => t !== "null") : type;
  if (named === "integer" || named === "number" || named === "boolean") return named;
  if (named === "array") return { list: columnTypeOf(items) };
  if (named === "object" && properties && typeof properties === "object" && Object.keys(properties).length)
    return {
      struct: Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, columnTypeOf(s)])),
    };
  return "string";
}

/**
 * A value as its column's type, the same in every format that keeps types: answers are text, a
 * schema's integer field a number, its array a list (parsed from the JSON text the answer was
 * kept as), its object a struct with every property (null where missing).
 */
export function typedValue(value: unknown, type: ColumnType | undefined): unknown {
  if (value === undefined || value === null || type === undefined) return value ?? null;
  if (typeof type === "object")
    return typedNested(typeof value === "string" ? parsedJson(value) : value, type);
  if (type === "string") return typeof value === "string" ? value : JSON.stringify(value);
  if (type === "boolean") return typeof value === "boolean" ? value : String(value) === "true";
  const number = typeof value === "number" ? value : Number(value);
  return Number.isFinite(number) ? number : null;
}

function typedNested(value: unknown, type: { list: ColumnType } | { struct: Record<string, ColumnType> }) {
  if ("list" in type) return Array.isArray(value) ? value.map((item) => typedValue(item, type.list)) : null;
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(type.struct).map(([name, t]) => [name, typedValue(object[name], t)]),
  );
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The type's name in a line of text (a card's table, a message): `list<string>`, `struct<a: int64>`. */
export function typeName(type: ColumnType, scalar: (t: ScalarType) => string): string {
  if (typeof type === "string") return scalar(type);
  if ("list" in type) return `list<${typeName(type.list, scalar)}>`;
  const parts = Object.entries(type.struct).map(([name, t]) => `${name}: ${typeName(t, scalar)}`);
  return `struct<${parts.join(", ")}>`;
}
