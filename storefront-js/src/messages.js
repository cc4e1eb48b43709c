// What this storefront needs from the messages it reads: the expectations its Pact consumer tests
// (tests/contract/test_pact_storefront.py) hold the services to. A message that does not meet them
// throws, naming the field.

function need(condition, message, field) {
  if (!condition) throw new Error(`${message.type ?? 'a message'}: ${field} is missing or wrong`);
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const day = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// The answer to one of this storefront's order.place commands, as the contract names the answers.
export function readAnswer(route, message) {
  need(route.answerTypes.includes(message.type), message, 'type (one of the answers to order.place)');
  need(uuid.test(message.command_id ?? ''), message, 'command_id');
  need(message.command_type === 'order.place', message, 'command_type');
  if (message.type === 'order.accepted') {
    need(typeof message.order_id === 'string', message, 'order_id');
    for (const field of ['order_date', 'ship_by_date', 'confirm_by_date']) need(day.test(message[field] ?? ''), message, field);
    return { commandId: message.command_id, outcome: 'accepted', orderId: message.order_id, shipBy: message.ship_by_date };
  }
  need(typeof message.reason === 'string', message, 'reason');
  need(typeof message.rule === 'string', message, 'rule');
  need(typeof message.message === 'string', message, 'message');
  if (message.type === 'order.rejected') {
    need(Array.isArray(message.failed_lines) && message.failed_lines.length > 0, message, 'failed_lines');
    for (const line of message.failed_lines) need(typeof line.listing_id === 'string' && typeof line.reason === 'string', message, 'failed_lines[].listing_id/reason');
    return { commandId: message.command_id, outcome: 'rejected', reason: message.reason, rule: message.rule, lines: message.failed_lines };
  }
  return { commandId: message.command_id, outcome: 'refused', reason: message.reason, rule: message.rule };
}

// The current state of a listing: what the storefront shows a buyer.
export function readListingState(message) {
  need(message.type === 'listing.state', message, 'type');
  need(typeof message.listing_id === 'string', message, 'listing_id');
  need(Number.isInteger(message.quantity) && message.quantity >= 0, message, 'quantity');
  need(typeof message.out_of_stock === 'boolean' && message.out_of_stock === (message.quantity === 0), message, 'out_of_stock');
  need(Number.isInteger(message.version), message, 'version');
  return { listingId: message.listing_id, quantity: message.quantity, outOfStock: message.out_of_stock, version: message.version };
}
