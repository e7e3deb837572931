// A request's standard contract, rendered from the policy as docs/contracts.md defines its
// canonical text, so the page can check — before the person signs — that the hash in the terms
// is the hash of the clauses it shows (the broker checks again at the grant).
import { blake2b } from "./blake2b.js";
import { bytes, hex } from "./wire.js";

export function rfc3339(ms) {
  const d = new Date(ms);
  return d.toISOString();    // UTC with milliseconds, as the broker writes times
}

function fill(text, values) {
  let out = "", name = null;
  for (const c of text) {
    if (name === null) {
      if (c === "{") name = ""; else out += c;
    } else if (c === "}") {
      out += name in values ? values[name] : "{" + name + "}";
      name = null;
    } else {
      name += c;
    }
  }
  return out + (name !== null ? "{" + name : "");
}

function names(terms, policy) {
  const titles = {};
  for (const category of policy.categories) for (const item of category.items) titles[item.id] = item.title;
  const items = terms.items.map((id) => (id in titles ? `${titles[id]} (${id})` : id)).join(", ");
  const purpose = policy.purposes.find((p) => p.id === terms.purpose);
  return { items, purpose: purpose ? `${purpose.title} (${terms.purpose})` : terms.purpose };
}

/** The template's clauses with their placeholders filled, as the canonical text has them. */
export function clauses(template, parameters, terms, recipient, policy) {
  const price = (policy.accounting?.prices || []).find((p) => p.category === terms.category) || {};
  const { items, purpose } = names(terms, policy);
  const values = {
    recipient, items, purpose, category: terms.category, retentionDays: String(terms.retentionDays),
    durationDays: String(terms.durationDays), incentiveKRW: String(terms.incentiveKRW),
  };
  for (const n of ["perPullKRW", "perRecordKRW", "perAnalysisKRW", "perPersonKRW", "manufacturerPercent", "personPercent", "brokerPercent"]) {
    values[n] = String(price[n] ?? 0);
  }
  Object.assign(values, parameters);
  return template.clauses.map((c) => ({ title: c.title, text: fill(c.text, values), key: c.key }));
}

/** The canonical text of a request's contract, and whether its hash is the one the terms name. */
export function render(terms, recipient, policy) {
  const reference = terms.contract;
  const template = (policy.contracts || []).find((t) => t.id === reference.template);
  if (!template) return null;
  const { items, purpose } = names(terms, policy);
  const lines = [
    `MyData standard contract: ${template.title} (${template.id})`,
    `Recipient: ${recipient}`,
    `Data: ${items}`,
    `Purpose: ${purpose}`,
    `Records from ${rfc3339(terms.dataFrom)} to ${rfc3339(terms.dataTo)}; consent for ${terms.durationDays} days from the grant${terms.onceOff ? ", once-off" : ""}`,
    "Parameters: " + template.parameters.map((p) => `${p.name} = ${reference.parameters[p.name] ?? ""}`).join("; "),
    "",
  ];
  const filled = clauses(template, reference.parameters, terms, recipient, policy);
  filled.forEach((c, i) => lines.push(`${i + 1}. ${c.title}. ${c.text}`));
  const text = lines.join("\n") + "\n";
  return { template, text, clauses: filled, matches: hex(blake2b(bytes(text), 32)) === reference.hash };
}
