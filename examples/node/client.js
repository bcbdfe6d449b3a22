// kraken-gateway client for Node.js: a consistent order-book mirror (the Clone pattern) and
// order entry through the router, over ZeroMQ with the `zeromq` v6 promise API.
//
// Everything here follows proto/README.md, the wire contract; nothing depends on the Python
// code. Payloads are JSON objects whose `type` names a definition of proto/messages.schema.json.
//
//   const book = new BookMirror({ pub, snapshot, symbol: "PF_XBTUSD" });
//   book.on("book", (b) => console.log(b.best("bids"), b.best("asks")));
//   await book.start();
//
//   const orders = new OrderEntry({ endpoint, account: "main" });
//   orders.on("reply", (msg) => console.log(msg.type, msg.status));
//   await orders.start();
//   orders.create({ symbol: "PF_XBTUSD", side: "BUY", orderType: "MARKET", quantity: 0.01 });
//
// Numbers: prices, quantities and order ids fit a JS number exactly (order ids stay below
// 2^53). Times are nanoseconds since the epoch (~1.8e18), beyond 2^53: JSON.parse rounds them
// to about 256 ns, which is fine for display; parse them as BigInt if you need every digit.

import { EventEmitter } from "node:events";
import { Dealer, Subscriber } from "zeromq";

/** The demo socket map (proto/README.md, "Default socket map"). */
export const DEFAULT_ENDPOINTS = Object.freeze({
  feedPub: "tcp://127.0.0.1:9810",
  feedSnapshot: "tcp://127.0.0.1:9811",
  routerOrders: "tcp://127.0.0.1:9820",
  dropcopyPub: "tcp://127.0.0.1:9830",
});

export const EXCHANGE = "kraken-futures";

/**
 * @typedef {Record<string, any> & {type: string, source: string, session: string, seq: number}} Message
 *   One bus or reply payload, decoded; `type` names its schema definition.
 * @typedef {[price: number, quantity: number]} Level
 */

/**
 * Every message (array of frames) `socket` receives, until it is closed.
 * @param {import("zeromq").Subscriber | import("zeromq").Dealer} socket
 * @returns {AsyncGenerator<Buffer[]>}
 */
async function* receiveAll(socket) {
  while (!socket.closed) {
    try {
      yield await socket.receive();
    } catch (err) {
      if (socket.closed || err?.code === "EAGAIN") return; // closed under a pending receive
      throw err;
    }
  }
}

/**
 * A SUB socket on one publisher, as an async iterable of decoded `{topic, msg}`.
 * Topics are prefixes that end with a dot (`oms.kraken-futures.main.`).
 */
export class Subscription {
  /**
   * @param {string} endpoint the publisher's PUB endpoint
   * @param {string[]} prefixes topic prefixes to subscribe to
   */
  constructor(endpoint, prefixes) {
    this.socket = new Subscriber({ linger: 0 });
    this.socket.connect(endpoint);
    for (const prefix of prefixes) this.socket.subscribe(prefix);
  }

  /** @returns {AsyncGenerator<{topic: string, msg: Message}>} ends when the socket is closed */
  async *[Symbol.asyncIterator]() {
    for await (const [topic, payload] of receiveAll(this.socket)) {
      yield { topic: topic.toString(), msg: JSON.parse(payload.toString()) };
    }
  }

  close() {
    this.socket.close();
  }
}

/**
 * A DEALER socket for request/reply with a gateway ROUTER: one JSON frame per message.
 * zeromq v6 allows one send in flight per socket, so sends are chained.
 */
export class RequestSocket {
  /**
   * @param {string} endpoint the service's ROUTER endpoint
   * @param {object} [options] extra zeromq Dealer options (e.g. CURVE keys)
   */
  constructor(endpoint, options = {}) {
    this.socket = new Dealer({ linger: 0, ...options });
    this.socket.connect(endpoint);
    /** @type {Promise<void>} */
    this.sending = Promise.resolve();
  }

  /** Queue `msg` (an object) for sending; resolves when it is handed to ZeroMQ. */
  send(msg) {
    const frame = JSON.stringify(msg);
    const sent = this.sending.then(() => this.socket.send(frame));
    this.sending = sent.catch(() => {}); // one failed send must not block the next ones
    return sent;
  }

  /** @returns {AsyncGenerator<Message>} every reply, until the socket is closed */
  async *replies() {
    for await (const frames of receiveAll(this.socket)) yield JSON.parse(frames[frames.length - 1].toString());
  }

  close() {
    this.socket.close();
  }
}

/** An L2 book: price -> quantity on each side. */
export class Book {
  /** @param {string} symbol */
  constructor(symbol) {
    this.symbol = symbol;
    /** @type {Map<number, number>} */
    this.bids = new Map();
    /** @type {Map<number, number>} */
    this.asks = new Map();
    /** False until a SNAPSHOT is applied, and again after a reset: never use it then. */
    this.valid = false;
  }

  clear() {
    this.bids.clear();
    this.asks.clear();
    this.valid = false;
  }

  /** Replace everything with a MarketByPrice SNAPSHOT. */
  replace(msg) {
    this.clear();
    this.apply(msg);
    this.valid = true;
  }

  /** Apply a MarketByPrice's levels: absolute quantities, 0 deletes the level. */
  apply(msg) {
    for (const [side, levels] of [[this.bids, msg.bids], [this.asks, msg.asks]]) {
      for (const [price, quantity] of levels) {
        if (quantity === 0) side.delete(price);
        else side.set(price, quantity);
      }
    }
  }

  /**
   * The best `depth` levels of a side, best first.
   * @param {"bids" | "asks"} side
   * @returns {Level[]}
   */
  levels(side, depth = Infinity) {
    const sign = side === "bids" ? -1 : 1;
    return [...this[side]].sort((a, b) => sign * (a[0] - b[0])).slice(0, depth);
  }

  /** @param {"bids" | "asks"} side @returns {Level | undefined} */
  best(side) {
    return this.levels(side, 1)[0];
  }

  /** Valid, both sides non-empty, and not crossed. */
  consistent() {
    const bid = this.best("bids");
    const ask = this.best("asks");
    return this.valid && bid !== undefined && ask !== undefined && bid[0] < ask[0];
  }
}

/**
 * One symbol's book, kept from the feed by the Clone pattern (proto/README.md):
 * subscribe first, then ask the snapshot service; drop updates of the same session at or below
 * the snapshot's seq, apply the rest in seq order, and start over on a seq gap, a STALE book or
 * a new publisher session. It never guesses.
 *
 * It also listens to the feed's heartbeats: `alive` is false until the publisher is heard and
 * again after `heartbeatTimeoutMs` of silence (a book from a silent feed may be out of date).
 *
 * Events: "book" (book, msg) after each change while the book is valid;
 *         "reset" (reason) when the book is discarded and a new snapshot is requested;
 *         "alive" and "silent" when the publisher is heard again / goes quiet.
 */
export class BookMirror extends EventEmitter {
  /**
   * @param {object} options
   * @param {string} options.pub the feed's market-data PUB
   * @param {string} options.snapshot the feed's snapshot ROUTER
   * @param {string} options.symbol e.g. PF_XBTUSD
   * @param {string} [options.exchange]
   * @param {number} [options.snapshotTimeoutMs] ask again when no SnapshotEnd came by then
   * @param {string} [options.service] the publisher's service name, for its heartbeat topic
   * @param {number} [options.heartbeatTimeoutMs] silence after which the publisher is dead
   */
  constructor({ pub, snapshot, symbol, exchange = EXCHANGE, snapshotTimeoutMs = 5000, service = "feed", heartbeatTimeoutMs = 3000 }) {
    super();
    this.topic = `md.${exchange}.${symbol}.mbp.`;
    this.heartbeatTopic = `sys.${service}.heartbeat.`;
    this.heartbeatTimeoutMs = heartbeatTimeoutMs;
    this.alive = false;
    this.lastHeard = 0;
    this.book = new Book(symbol);
    this.endpoints = { pub, snapshot };
    this.snapshotTimeoutMs = snapshotTimeoutMs;
    /** Session and seq of the last message applied (from the snapshot or the bus). */
    this.session = null;
    this.seq = 0;
    this.resyncs = 0;
    this.updates = 0;
    /** Request id of the snapshot being waited for, or null when in sync. */
    this.pending = null;
    /** @type {Message | null} the snapshot entry's message for our topic */
    this.base = null;
    /** @type {Message[]} bus messages held while a snapshot is pending */
    this.held = [];
    this.requests = 0;
    this.timer = null;
    this.watchdog = null;
  }

  /** Subscribe, then request the first snapshot. Resolves once both sockets are set up. */
  async start() {
    this.sub = new Subscription(this.endpoints.pub, [this.topic, this.heartbeatTopic]);
    this.dealer = new RequestSocket(this.endpoints.snapshot);
    this.watchdog = setInterval(() => this.#checkSilence(), this.heartbeatTimeoutMs / 3);
    this.loops = Promise.all([
      this.#pump(this.sub, ({ topic, msg }) => {
        this.#heard();
        if (topic === this.topic) this.#onBus(msg);
      }),
      this.#pump(this.dealer.replies(), (msg) => this.#onReply(msg)),
    ]);
    this.loops.catch((err) => this.emit("error", err));
    this.#resync("start");
  }

  async close() {
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.sub?.close();
    this.dealer?.close();
    await this.loops?.catch(() => {});
  }

  async #pump(iterable, handle) {
    for await (const item of iterable) handle(item);
  }

  #heard() {
    this.lastHeard = Date.now();
    if (!this.alive) {
      this.alive = true;
      this.emit("alive");
    }
  }

  #checkSilence() {
    if (this.alive && Date.now() - this.lastHeard > this.heartbeatTimeoutMs) {
      this.alive = false;
      this.emit("silent");
    }
  }

  /** Discard the book and ask the snapshot service for it again. */
  #resync(reason) {
    this.book.clear();
    this.session = null;
    this.seq = 0;
    this.base = null;
    this.held = [];
    this.pending = `node-snapshot-${++this.requests}`;
    if (reason !== "start") this.resyncs += 1;
    this.emit("reset", reason);
    clearTimeout(this.timer);
    const requestId = this.pending;
    this.timer = setTimeout(() => {
      if (this.pending === requestId) this.#resync(`no SnapshotEnd within ${this.snapshotTimeoutMs} ms`);
    }, this.snapshotTimeoutMs);
    this.dealer
      .send({ type: "SnapshotRequest", request_id: this.pending, topics: [this.topic] })
      .catch((err) => this.emit("error", err));
  }

  #onReply(msg) {
    if (msg.request_id !== this.pending) return; // an answer to a request given up on
    if (msg.type === "SnapshotEntry") {
      if (msg.topic === this.topic) this.base = msg.message;
    } else if (msg.type === "SnapshotEnd") {
      this.#onSnapshot();
    } else if (msg.type === "ErrorReply") {
      this.emit("error", new Error(`snapshot refused: ${msg.error} ${msg.text}`));
    }
  }

  /** The snapshot is complete: install it, then replay what the bus delivered meanwhile. */
  #onSnapshot() {
    clearTimeout(this.timer);
    this.pending = null;
    const base = this.base;
    if (base !== null) {
      this.session = base.session;
      this.seq = base.seq;
      // A STALE entry says the feed does not trust the book either: wait for its next SNAPSHOT.
      if (base.update_type === "SNAPSHOT") this.#changed(base);
    }
    const held = this.held;
    this.held = [];
    for (const msg of held) this.#onBus(msg);
  }

  #onBus(msg) {
    if (this.pending !== null) {
      this.held.push(msg);
      return;
    }
    if (msg.session === this.session && msg.seq <= this.seq) return; // the snapshot covers it
    const firstSnapshot = this.session === null && msg.update_type === "SNAPSHOT";
    if (msg.session !== this.session && !firstSnapshot) {
      this.#resync(this.session === null ? "no snapshot for this topic yet" : `publisher restarted (session ${msg.session})`);
      return;
    }
    if (!firstSnapshot && msg.seq !== this.seq + 1) {
      this.#resync(`seq gap: expected ${this.seq + 1}, got ${msg.seq}`);
      return;
    }
    this.session = msg.session;
    this.seq = msg.seq;
    switch (msg.update_type) {
      case "SNAPSHOT":
        this.#changed(msg);
        return;
      case "INCREMENTAL":
        if (!this.book.valid) return; // after a STALE snapshot entry: wait for the SNAPSHOT
        this.book.apply(msg);
        this.updates += 1;
        this.emit("book", this.book, msg);
        return;
      case "STALE":
        this.#resync("book is STALE");
        return;
      default:
        this.#resync(`unknown update_type ${msg.update_type}`);
    }
  }

  #changed(snapshot) {
    this.book.replace(snapshot);
    this.emit("book", this.book, snapshot);
  }
}

/**
 * Order ids are never reused, even across restarts: milliseconds since the epoch times 1000,
 * plus a counter (far below 2^53).
 */
export function orderIdAllocator() {
  let next = Date.now() * 1000;
  return () => next++;
}

/**
 * A DEALER connection to the router's order ROUTER for one account. Sends a Heartbeat every
 * `heartbeatMs` (the router treats a silent client as gone and cancels its orders).
 *
 * Events: "reply" (msg) for every OrderAck, OrderUpdate, TradeUpdate, CancelAllOrdersAck and
 * ErrorReply the router sends (match them to orders by `order_id` or `request_id`).
 */
export class OrderEntry extends EventEmitter {
  /**
   * @param {object} options
   * @param {string} options.endpoint the router's order ROUTER (bus.router_orders)
   * @param {string} options.account account name as configured in the gateway
   * @param {string} [options.name] client name, in heartbeats and request ids
   * @param {number} [options.heartbeatMs]
   * @param {{serverKey: string, publicKey: string, secretKey: string} | null} [options.curve]
   *   Z85 keys when the router requires CURVE (`kgw keygen`); null for a loopback router
   *   running with `curve = false`.
   */
  constructor({ endpoint, account, name = "node-client", heartbeatMs = 1000, curve = null }) {
    super();
    this.endpoint = endpoint;
    this.account = account;
    this.name = name;
    this.heartbeatMs = heartbeatMs;
    this.curve = curve;
    this.nextOrderId = orderIdAllocator();
    this.requests = 0;
  }

  async start() {
    const options = this.curve
      ? { curveServerKey: this.curve.serverKey, curvePublicKey: this.curve.publicKey, curveSecretKey: this.curve.secretKey }
      : {};
    this.dealer = new RequestSocket(this.endpoint, options);
    this.loop = (async () => {
      for await (const msg of this.dealer.replies()) {
        if (msg.type !== "Heartbeat") this.emit("reply", msg);
      }
    })();
    this.loop.catch((err) => this.emit("error", err));
    const heartbeat = () => this.dealer.send({ type: "Heartbeat", service: this.name, interval_ms: this.heartbeatMs });
    this.timer = setInterval(() => heartbeat().catch((err) => this.emit("error", err)), this.heartbeatMs);
    await heartbeat();
  }

  async close() {
    clearInterval(this.timer);
    this.dealer?.close();
    await this.loop?.catch(() => {});
  }

  /**
   * Send a CreateOrder. Returns its ids; the answers come as "reply" events.
   * @param {object} order
   * @param {string} order.symbol
   * @param {"BUY" | "SELL"} order.side
   * @param {"LIMIT" | "MARKET" | "STOP" | "TAKE_PROFIT"} order.orderType
   * @param {number} order.quantity in contracts
   * @param {number | null} [order.price] LIMIT price
   * @param {"GTC" | "IOC"} [order.timeInForce]
   * @returns {{orderId: number, requestId: string, sent: Promise<void>}}
   */
  create({ symbol, side, orderType, quantity, price = null, timeInForce = "GTC" }) {
    const orderId = this.nextOrderId();
    const requestId = `${this.name}-${++this.requests}`;
    const sent = this.dealer.send({
      type: "CreateOrder",
      account: this.account,
      order_id: orderId,
      request_id: requestId,
      symbol,
      side,
      order_type: orderType,
      time_in_force: timeInForce,
      quantity,
      price,
    });
    return { orderId, requestId, sent };
  }
}
