/**
 * Decoders of ExportTraceServiceRequest's messages: ResourceSpans, ScopeSpans, Span, Status, Event, Link.
 */
import type { InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink, Status } from '../model.ts';
import { DECODED_BYTES, prefix, Reader } from './proto-wire.ts';
import { F_RESOURCE_SPANS, F_SCOPE_SPANS, F_SPAN, F_EVENT, F_LINK, F_STATUS } from './proto-fields.ts';
import { sub, kvAt, SKIPPED, idField, decResource, decScope, EMPTY_RESOURCE, EMPTY_SCOPE } from './proto-decode-common.ts';

function spanAt(r: Reader, field: string, index: number): Span {
  try {
    r.item();
    r.count(DECODED_BYTES.span);
    const saved = r.enter();
    const v = decSpan(r);
    r.leave(saved);
    return v;
  } catch (e) {
    prefix(e, field, index);
  }
}


/** Decodes a ResourceSpans (its ScopeSpans, Spans, events and links). */
export function decResourceSpans(r: Reader): ResourceSpans {
  r.count(DECODED_BYTES.resourceSpans);
  let resource: Resource | undefined;
  const scopeSpans: ScopeSpans[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) scopeSpans.push(sub(r, decScopeSpans, 'scope_spans', scopeSpans.length));
    else if (tag === 10 /* t(1, LEN) */) resource = sub(r, decResource, 'resource', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_RESOURCE_SPANS, 'ResourceSpans');
  }
  return { resource: resource ?? EMPTY_RESOURCE(), scopeSpans, schemaUrl };
}

function decScopeSpans(r: Reader): ScopeSpans {
  r.count(DECODED_BYTES.scopeSpans);
  let scope: InstrumentationScope | undefined;
  const spans: Span[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) spans.push(spanAt(r, 'spans', spans.length));
    else if (tag === 10 /* t(1, LEN) */) scope = sub(r, decScope, 'scope', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_SCOPE_SPANS, 'ScopeSpans');
  }
  return { scope: scope ?? EMPTY_SCOPE(), spans, schemaUrl };
}

// A span without events, links or status shares these (frozen: nothing downstream writes a span's events,
// links or status), instead of two empty arrays and an object made for each span. A clone of a batch
// (model.ts cloneBatch) keeps them shared but not frozen: a component that changes a span's events, links or
// status must give the span new ones, never write into these.
const NO_EVENTS = Object.freeze([]) as unknown as SpanEvent[];
const NO_LINKS = Object.freeze([]) as unknown as SpanLink[];
const UNSET_STATUS: Status = Object.freeze({ message: '', code: 0 });

function decSpan(r: Reader): Span {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let parentSpanId = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let start = 0n;
  let end = 0n;
  const attributes: KeyValue[] = [];
  const plan = r.spanPlan;
  // attributes to leave unbuilt; ids to check without making their hex (SpanDecodePlan)
  const filter = plan !== undefined && plan.keys !== undefined ? plan : undefined;
  const ids = plan === undefined || plan.ids;
  let nAttributes = 0;
  let droppedAttributesCount = 0;
  let events = NO_EVENTS;
  let droppedEventsCount = 0;
  let links = NO_LINKS;
  let droppedLinksCount = 0;
  let status: Status | undefined;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        traceId = idField(r, 16, 'trace_id', ids);
        break;
      case 18 /* t(2, LEN) */:
        spanId = idField(r, 8, 'span_id', ids);
        break;
      case 26 /* t(3, LEN) */:
        if (ids) traceState = r.string();
        else r.skipLen();
        break;
      case 34 /* t(4, LEN) */:
        parentSpanId = idField(r, 8, 'parent_span_id', ids);
        break;
      case 133 /* t(16, I32) */:
        flags = r.fixed32();
        break;
      case 42 /* t(5, LEN) */:
        name = r.string();
        break;
      case 48 /* t(6, VARINT) */:
        kind = r.varint() | 0;
        break;
      case 57 /* t(7, I64) */:
        start = r.fixed64();
        break;
      case 65 /* t(8, I64) */:
        end = r.fixed64();
        break;
      case 74 /* t(9, LEN) */: {
        const kv = kvAt(r, 'attributes', nAttributes++, filter);
        if (kv !== SKIPPED) attributes.push(kv);
        break;
      }
      case 80 /* t(10, VARINT) */:
        droppedAttributesCount = r.varint();
        break;
      case 90 /* t(11, LEN) */:
        if (events === NO_EVENTS) events = [];
        events.push(sub(r, decEvent, 'events', events.length));
        break;
      case 96 /* t(12, VARINT) */:
        droppedEventsCount = r.varint();
        break;
      case 106 /* t(13, LEN) */:
        if (links === NO_LINKS) links = [];
        links.push(sub(r, decLink, 'links', links.length));
        break;
      case 112 /* t(14, VARINT) */:
        droppedLinksCount = r.varint();
        break;
      case 122 /* t(15, LEN) */:
        status = sub(r, decStatus, 'status', -1);
        break;
      default:
        r.skip(tag, F_SPAN, 'Span');
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status: status ?? UNSET_STATUS,
  };
}

function decStatus(r: Reader): Status {
  let message = '';
  let code = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) message = r.string();
    else if (tag === 24 /* t(3, VARINT) */) code = r.varint() | 0;
    else r.skip(tag, F_STATUS, 'Status');
  }
  return { message, code };
}

function decEvent(r: Reader): SpanEvent {
  r.count(DECODED_BYTES.event);
  let time = 0n;
  let name = '';
  const attributes: KeyValue[] = [];
  let dropped = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 9 /* t(1, I64) */:
        time = r.fixed64();
        break;
      case 18 /* t(2, LEN) */:
        name = r.string();
        break;
      case 26 /* t(3, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 32 /* t(4, VARINT) */:
        dropped = r.varint();
        break;
      default:
        r.skip(tag, F_EVENT, 'Span.Event');
    }
  }
  return { timeUnixNano: time, name, attributes, droppedAttributesCount: dropped };
}

function decLink(r: Reader): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  const attributes: KeyValue[] = [];
  let dropped = 0;
  let flags = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        traceId = idField(r, 16, 'trace_id');
        break;
      case 18 /* t(2, LEN) */:
        spanId = idField(r, 8, 'span_id');
        break;
      case 26 /* t(3, LEN) */:
        traceState = r.string();
        break;
      case 34 /* t(4, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 40 /* t(5, VARINT) */:
        dropped = r.varint();
        break;
      case 53 /* t(6, I32) */:
        flags = r.fixed32();
        break;
      default:
        r.skip(tag, F_LINK, 'Span.Link');
    }
  }
  return { traceId, spanId, traceState, attributes, droppedAttributesCount: dropped, flags };
}
