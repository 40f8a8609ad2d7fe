/**
 * Step handlers of the checkout demo. Latency and failure rates come from each step's handler_config so
 * the same code serves the calm demo and the incident replay. Written against the public API only.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, RetryableError, type HandlerMap, type StepHandlerContext } from '../../src/index.js';

interface CartItem {
  sku: string;
  price: number;
  quantity: number;
}

function config(ctx: StepHandlerContext): { latency: [number, number]; failureRate: number } {
  const c = ctx.step.handlerConfig;
  const l = Array.isArray(c.latency_ms) ? (c.latency_ms as number[]) : [5, 20];
  return {
    latency: [Number(l[0] ?? 5), Number(l[1] ?? l[0] ?? 20)],
    failureRate: typeof c.failure_rate === 'number' ? c.failure_rate : 0,
  };
}

/** Simulated I/O that honours cancellation and timeouts through the step's AbortSignal. */
async function work(ctx: StepHandlerContext): Promise<void> {
  const { latency } = config(ctx);
  const ms = latency[0] + Math.random() * (latency[1] - latency[0]);
  await sleep(ms, undefined, { signal: ctx.signal });
}

/**
 * Injected faults, for the incident replay: a share of orders (the same orders on every attempt, as a
 * pool exhausted for some keys would) makes a step hang until its timeout.
 */
const faults = new Map<string, { share: number }>();

export function injectHang(step: string, share: number): void {
  faults.set(step, { share });
}

export function clearFaults(): void {
  faults.clear();
}

/** A stable, evenly spread number in [0, 1) per order (sequential order ids must not cluster). */
function orderFraction(ctx: StepHandlerContext): number {
  const orderId = ctx.task.context.order_id;
  const id = typeof orderId === 'string' ? orderId : ctx.task.id;
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 0x100000000;
}

async function maybeHang(ctx: StepHandlerContext): Promise<void> {
  const fault = faults.get(ctx.step.name);
  if (!fault || orderFraction(ctx) >= fault.share) return;
  // Until the step's timeout aborts it (10 min at most, should a template have no timeout).
  await sleep(600_000, undefined, { signal: ctx.signal });
}

function maybeFail(ctx: StepHandlerContext, what: string): void {
  if (Math.random() < config(ctx).failureRate) {
    throw new RetryableError(`${what} unavailable (simulated 503)`, { retryAfterSeconds: 0.2 });
  }
}

/** A class handler, Tasker-style: process() does the work, processResults() shapes what is stored. */
export class ValidateCart {
  async process(ctx: StepHandlerContext): Promise<{ items: CartItem[]; total: number }> {
    await work(ctx);
    const items = (ctx.task.context.cart_items ?? []) as CartItem[];
    if (items.length === 0) throw new PermanentError('Cart is empty');
    const total = items.reduce((sum, i) => sum + i.price * i.quantity, 0);
    return { items, total: Math.round(total * 100) / 100 };
  }

  processResults(_step: StepHandlerContext['step'], output: { items: CartItem[]; total: number }) {
    return { validated: true, item_count: output.items.length, cart_total: output.total };
  }
}

export const handlers: HandlerMap = {
  validate_cart: ValidateCart,

  async process_payment(ctx) {
    const cart = ctx.sequence.findStepByName('validate_cart')?.results as { cart_total?: number } | undefined;
    if (cart?.cart_total === undefined) throw new PermanentError('Cart must be validated before payment');
    await work(ctx);
    maybeFail(ctx, 'payment gateway');
    ctx.log.debug({ amount: cart.cart_total }, 'payment captured');
    return {
      payment_id: `pay_${ctx.task.id.slice(-12)}`,
      amount: cart.cart_total,
      method: ctx.task.context.payment_method ?? 'credit_card',
    };
  },

  async update_inventory(ctx) {
    await maybeHang(ctx);
    await work(ctx);
    maybeFail(ctx, 'inventory service');
    const items = (ctx.task.context.cart_items ?? []) as CartItem[];
    return { reserved: items.map((i) => ({ sku: i.sku, quantity: i.quantity })) };
  },

  async create_order(ctx) {
    await work(ctx);
    const payment = ctx.sequence.findStepByName('process_payment')?.results as
      { payment_id: string } | undefined;
    return {
      order_number: `ORD-${String(ctx.task.context.order_id)}`,
      payment_id: payment?.payment_id ?? null,
    };
  },

  async send_confirmation(ctx) {
    await work(ctx);
    maybeFail(ctx, 'email provider');
    ctx.emit('checkout.confirmation_sent', { order_id: ctx.task.context.order_id });
    return { sent: true };
  },
};
