/** A stream of plausible orders for the demo: mostly standard customers, some premium, a few empty carts. */

const REGIONS = ['north_america', 'europe', 'asia_pacific'] as const;
const SKUS = ['SKU-TSHIRT', 'SKU-MUG', 'SKU-HOODIE', 'SKU-CAP', 'SKU-STICKERS'] as const;
const PRICES: Record<string, number> = {
  'SKU-TSHIRT': 24.99,
  'SKU-MUG': 12.5,
  'SKU-HOODIE': 59.0,
  'SKU-CAP': 19.99,
  'SKU-STICKERS': 4.99,
};

export interface DemoOrder {
  order_id: string;
  customer_id: string;
  customer_tier: 'standard' | 'premium';
  region: string;
  payment_method: 'credit_card' | 'paypal';
  order_value: number;
  cart_items: Array<{ sku: string; price: number; quantity: number }>;
}

function pick<T>(xs: readonly T[], random: () => number): T {
  return xs[Math.floor(random() * xs.length)] as T;
}

export function makeOrder(n: number, random: () => number = Math.random): DemoOrder {
  const premium = random() < 0.2;
  const empty = random() < 0.02;
  const count = empty ? 0 : 1 + Math.floor(random() * (premium ? 6 : 3));
  const cart_items = Array.from({ length: count }, () => {
    const sku = pick(SKUS, random);
    return { sku, price: PRICES[sku] ?? 10, quantity: 1 + Math.floor(random() * 3) };
  });
  const order_value = Math.round(cart_items.reduce((s, i) => s + i.price * i.quantity, 0) * 100) / 100;
  return {
    order_id: `ord_${String(n).padStart(6, '0')}`,
    customer_id: `cus_${Math.floor(random() * 5000)}`,
    customer_tier: premium ? 'premium' : 'standard',
    region: pick(REGIONS, random),
    payment_method: random() < 0.7 ? 'credit_card' : 'paypal',
    order_value,
    cart_items,
  };
}

/** mulberry32: a seeded stream for makeOrder, so a bench or a replay creates the same orders every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
