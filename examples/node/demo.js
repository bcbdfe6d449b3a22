#!/usr/bin/env node
// Demo of the Node.js client: print a consistent book, send a market order that fills, and
// print its acks, fill and position.
//
//   node demo.js [--symbol PF_XBTUSD] [--side BUY] [--quantity 0.01] [--account main]
//                [--feed-pub tcp://...] [--feed-snapshot ...] [--router-orders ...]
//                [--dropcopy-pub ...] [--timeout 20]
//
// Every option can also come from the environment: KGW_SYMBOL, KGW_SIDE, KGW_QUANTITY,
// KGW_ACCOUNT, KGW_FEED_PUB, KGW_FEED_SNAPSHOT, KGW_ROUTER_ORDERS, KGW_DROPCOPY_PUB,
// KGW_TIMEOUT (an argument wins over the environment, which wins over the default).
// For a router with CURVE on, set KGW_ROUTER_SERVER_KEY, KGW_CLIENT_PUBLIC_KEY and
// KGW_CLIENT_SECRET_KEY (Z85, from `kgw keygen`).
//
// Exit code 0 once FORWARDED, ACCEPTED, a FILLED OrderUpdate, a TradeUpdate and a
// PositionUpdate were seen; 2 when the order was refused; 1 on timeout or any other failure.

import { parseArgs } from "node:util";
import { BookMirror, DEFAULT_ENDPOINTS, EXCHANGE, OrderEntry, Subscription } from "./client.js";

const OPTIONS = {
  symbol: { default: "PF_XBTUSD" },
  side: { default: "BUY" },
  quantity: { default: "0.01" },
  account: { default: "main" },
  "feed-pub": { default: DEFAULT_ENDPOINTS.feedPub },
  "feed-snapshot": { default: DEFAULT_ENDPOINTS.feedSnapshot },
  "router-orders": { default: DEFAULT_ENDPOINTS.routerOrders },
  "dropcopy-pub": { default: DEFAULT_ENDPOINTS.dropcopyPub },
  timeout: { default: "20" },
};

/** Arguments, else KGW_<NAME> from the environment, else the default. */
function options(argv = process.argv.slice(2), env = process.env) {
  const spec = Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: "string" }]));
  const { values } = parseArgs({ args: argv, options: spec, strict: true });
  const envName = (name) => `KGW_${name.toUpperCase().replaceAll("-", "_")}`;
  return Object.fromEntries(
    Object.entries(OPTIONS).map(([name, { default: fallback }]) => [name, values[name] ?? env[envName(name)] ?? fallback]),
  );
}

function curveFromEnv(env = process.env) {
  const { KGW_ROUTER_SERVER_KEY: serverKey, KGW_CLIENT_PUBLIC_KEY: publicKey, KGW_CLIENT_SECRET_KEY: secretKey } = env;
  return serverKey && publicKey && secretKey ? { serverKey, publicKey, secretKey } : null;
}

/** Resolves once the mirror's book is consistent and its feed is heard. */
function consistentBook(mirror) {
  return new Promise((resolve) => {
    const check = () => mirror.alive && mirror.book.consistent() && resolve(mirror.book);
    mirror.on("book", check);
    mirror.on("alive", check);
  });
}

function printBook(mirror, depth = 5) {
  const { book } = mirror;
  const [bid] = book.best("bids");
  const [ask] = book.best("asks");
  console.log(
    `book ${book.symbol} session=${mirror.session} seq=${mirror.seq} best_bid=${bid} best_ask=${ask} ` +
      `levels=${book.bids.size}/${book.asks.size} consistent=${book.consistent()}`,
  );
  const bids = book.levels("bids", depth);
  const asks = book.levels("asks", depth);
  for (let i = 0; i < depth; i++) {
    const [bp = "", bq = ""] = bids[i] ?? [];
    const [ap = "", aq = ""] = asks[i] ?? [];
    console.log(`  ${String(bq).padStart(10)} ${String(bp).padStart(10)} | ${String(ap).padEnd(10)} ${aq}`);
  }
}

function describe(msg) {
  switch (msg.type) {
    case "OrderAck":
      return `OrderAck ${msg.status} origin=${msg.origin} order_id=${msg.order_id}` +
        (msg.exchange_order_id ? ` exchange_order_id=${msg.exchange_order_id}` : "") +
        (msg.error ? ` error=${msg.error} text=${msg.text}` : "");
    case "OrderUpdate":
      return `OrderUpdate ${msg.status} ${msg.side} ${msg.order_type} ${msg.symbol} quantity=${msg.quantity} ` +
        `traded=${msg.traded_quantity} avg_price=${msg.average_traded_price} remaining=${msg.remaining_quantity}`;
    case "TradeUpdate":
      return `TradeUpdate ${msg.side} ${msg.quantity} ${msg.symbol} @ ${msg.price} ${msg.liquidity} ` +
        `fee=${msg.fee} ${msg.fee_currency} trade_id=${msg.trade_id}`;
    case "PositionUpdate":
      return `PositionUpdate ${msg.symbol} position=${msg.position} average_price=${msg.average_price}`;
    default:
      return `${msg.type} ${JSON.stringify(msg)}`;
  }
}

/**
 * Collects what the run must see about one order, from the router (acks, order and trade
 * updates) and from the drop-copy PUB (the position). `done` resolves when everything was
 * seen or the order was refused.
 */
class OrderWatch {
  constructor(symbol) {
    this.symbol = symbol;
    this.order = null;
    this.seen = { FORWARDED: false, ACCEPTED: false, FILLED: false, TradeUpdate: false, PositionUpdate: false };
    this.refused = false;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** A reply of the router: only those about our order count. */
  onReply(msg) {
    if (this.order === null || msg.order_id !== this.order.orderId) return;
    console.log(describe(msg));
    if (msg.type === "OrderAck") {
      if (msg.status in this.seen) this.seen[msg.status] = true;
      else this.refused = true; // REJECTED, TIMEOUT or DISCONNECTED
    } else if (msg.type === "ErrorReply") {
      this.refused = true;
    } else if (msg.type === "OrderUpdate" && msg.status === "FILLED") {
      this.seen.FILLED = true;
    } else if (msg.type === "TradeUpdate") {
      this.seen.TradeUpdate = true;
    }
    this.#check();
  }

  /** An account update: the first PositionUpdate of the symbol after the order was sent.
   * (Another client trading the same account could move it too; this demo is alone.) */
  onAccount(msg) {
    if (this.order === null || this.seen.PositionUpdate) return;
    if (msg.type !== "PositionUpdate" || msg.symbol !== this.symbol) return;
    console.log(describe(msg));
    this.seen.PositionUpdate = true;
    this.#check();
  }

  missing() {
    return Object.keys(this.seen).filter((k) => !this.seen[k]);
  }

  #check() {
    if (this.refused || this.missing().length === 0) this.finish();
  }
}

async function main() {
  let opts;
  try {
    opts = options();
  } catch (err) {
    console.error(`${err.message}\nusage: see the header of demo.js`);
    return 1;
  }
  const symbol = opts.symbol.toUpperCase();
  const side = opts.side.toUpperCase();
  const deadline = AbortSignal.timeout(Number(opts.timeout) * 1000);
  const expired = new Promise((_, reject) => {
    deadline.addEventListener("abort", () => reject(new Error(`timed out after ${opts.timeout}s`)));
  });
  const withDeadline = (promise) => Promise.race([promise, expired]);

  const mirror = new BookMirror({ pub: opts["feed-pub"], snapshot: opts["feed-snapshot"], symbol });
  // account updates, plus drop-copy heartbeats: the first one tells that the subscription is
  // live, so the order goes out only when its PositionUpdate cannot be missed
  const account = new Subscription(opts["dropcopy-pub"], [`oms.${EXCHANGE}.${opts.account}.`, "sys.dropcopy.heartbeat."]);
  const orders = new OrderEntry({ endpoint: opts["router-orders"], account: opts.account, name: "node-demo", curve: curveFromEnv() });
  const watch = new OrderWatch(symbol);
  const failure = new Promise((_, reject) => {
    for (const source of [mirror, orders]) source.on("error", reject);
  });
  mirror.on("reset", (reason) => reason !== "start" && console.log(`# book reset: ${reason}`));
  mirror.on("silent", () => console.log("# feed silent: book may be out of date"));
  orders.on("reply", (msg) => watch.onReply(msg));

  try {
    const consistent = consistentBook(mirror);
    await mirror.start();
    await withDeadline(Promise.race([consistent, failure]));
    printBook(mirror);

    const updates = account[Symbol.asyncIterator]();
    if ((await withDeadline(updates.next())).done) throw new Error("drop-copy subscription closed");
    const accountLoop = (async () => {
      for await (const { msg } of updates) watch.onAccount(msg);
    })();

    await orders.start();
    watch.order = orders.create({ symbol, side, orderType: "MARKET", quantity: Number(opts.quantity) });
    await watch.order.sent;
    console.log(`sent CreateOrder order_id=${watch.order.orderId} request_id=${watch.order.requestId} MARKET ${side} ${opts.quantity} ${symbol}`);
    await withDeadline(Promise.race([watch.done, failure, accountLoop]));
    if (watch.refused) throw new Error("order refused");
    if (watch.missing().length > 0) throw new Error("drop-copy subscription ended");
    printBook(mirror);
    console.log(`ok: ${Object.keys(watch.seen).join(", ")} (book updates applied=${mirror.updates}, resyncs=${mirror.resyncs})`);
    return 0;
  } catch (err) {
    console.error(`failed: ${err.message}; not seen: ${watch.missing().join(", ") || "nothing"}`);
    return watch.refused ? 2 : 1;
  } finally {
    await Promise.all([orders.close(), mirror.close(), account.close()]);
  }
}

process.exitCode = await main();
