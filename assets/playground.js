/* The MINE playground: a small MINE critic trained live in the reader's browser with TensorFlow.js.
 *
 * The same algorithm as minelib.MINE, at toy size: pairs (x, z) of correlated Gaussians (d = 1 or 2 per
 * variable), a statistics network T(x, z) (an MLP on [x, z], 32-32 ELU units), minibatches of the training
 * split with marginal pairs from re-pairing z within the batch so that no pair stays in place (a
 * derangement), Adam, and either the DV bound (with the plain minibatch gradient, "biased", or the
 * moving-average gradient of the paper's section 3.2, "ema": the average includes the current batch with
 * weight alpha and is kept in log space, exactly as minelib.ema) or the f-bound (MINE-f, whose minibatch
 * gradient is unbiased, so the gradient rule does not apply to it). The estimate is the bound of the
 * *current* network on held-out pairs (10 re-pairings of z), every 50 steps; minelib.MINE reports instead
 * the checkpoint that did best on a separate validation split. No preprocessing (the data are standard).
 *
 * State for tests and readers: the root element #mine-playground carries data-step, data-estimate,
 * data-truth and data-steps-per-second; window.minePlayground exposes reset(), run(steps) and state.
 */
(function () {
  "use strict";

  const N_TRAIN = 4000;
  const N_TEST = 1000;
  const HIDDEN = 32;
  const EVAL_EVERY = 50;
  const EMA_RATE = 0.01;
  const N_SHUFFLES = 10;

  // ------------------------------------------------------------------ seeded random numbers
  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function gaussian(rand) {
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  function derangement(n, rand) {
    // a uniformly random order; each position takes the z of the next position in that order (cyclically)
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const idx = new Int32Array(n);
    for (let j = 0; j < n; j++) idx[order[j]] = order[(j + 1) % n];
    return idx;
  }

  // ------------------------------------------------------------------ exact answers
  function gaussianMI(rho, dim) {
    return -0.5 * dim * Math.log(1 - rho * rho);
  }
  function optimalCritic(x, z, rho) {
    // log p(x, z) / (p(x) p(z)) for one coordinate pair (minelib.gaussian_log_ratio)
    const r2 = rho * rho;
    return -0.5 * Math.log(1 - r2) - (r2 * x * x - 2 * rho * x * z + r2 * z * z) / (2 * (1 - r2));
  }

  // ------------------------------------------------------------------ the model
  class Playground {
    constructor(root) {
      this.root = root;
      this.canvases = {
        samples: root.querySelector("canvas[data-view=samples]"),
        curve: root.querySelector("canvas[data-view=curve]"),
        critic: root.querySelector("canvas[data-view=critic]"),
        optimal: root.querySelector("canvas[data-view=optimal]"),
      };
      this.status = root.querySelector("[data-view=status]");
      this.running = false;
      this.reset();
    }

    settings() {
      const value = (name) => {
        const inputs = [...this.root.querySelectorAll(`input[name=${name}]`)];
        const chosen = inputs.find((i) => i.type !== "radio" || i.checked);
        return chosen.value;
      };
      const batch = Math.round(Number(value("batch_size")));
      return {
        rho: Math.max(-0.99, Math.min(0.99, Number(value("rho")))),
        batchSize: Math.max(8, Math.min(1024, batch)),
        gradient: value("gradient"),
        objective: value("objective"),
        lr: Number(value("lr")),
        dim: Number(value("dim")),
        seed: Math.round(Number(value("seed"))),
      };
    }

    reset() {
      this.running = false;
      this.runId = (this.runId || 0) + 1; // a loop still waiting for its next chunk stops
      if (this.params) this.params.forEach((p) => p.dispose());
      if (this.data) Object.values(this.data).forEach((t) => t.dispose());
      const s = (this.cfg = this.settings());
      const rand = (this.rand = mulberry32(s.seed));
      this.evalRand = mulberry32(s.seed + 7919); // evaluation's own stream: pausing does not change training
      const draw = (n) => {
        const x = new Float32Array(n * s.dim);
        const z = new Float32Array(n * s.dim);
        for (let i = 0; i < n * s.dim; i++) {
          x[i] = gaussian(rand);
          z[i] = s.rho * x[i] + Math.sqrt(1 - s.rho * s.rho) * gaussian(rand);
        }
        return [x, z];
      };
      const [xTrain, zTrain] = draw(N_TRAIN);
      const [xTest, zTest] = draw(N_TEST);
      this.raw = { xTest, zTest };
      this.data = {
        xTrain: tf.tensor2d(xTrain, [N_TRAIN, s.dim]),
        zTrain: tf.tensor2d(zTrain, [N_TRAIN, s.dim]),
        xTest: tf.tensor2d(xTest, [N_TEST, s.dim]),
        zTest: tf.tensor2d(zTest, [N_TEST, s.dim]),
      };
      // torch.nn.Linear's initialisation: uniform in +-1/sqrt(fan_in)
      const sizes = [2 * s.dim, HIDDEN, HIDDEN, 1];
      this.params = [];
      for (let l = 0; l < 3; l++) {
        const bound = 1 / Math.sqrt(sizes[l]);
        const init = (shape) => {
          const values = tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (2 * rand() - 1) * bound), shape);
          const variable = tf.variable(values);
          values.dispose();
          return variable;
        };
        this.params.push(init([sizes[l], sizes[l + 1]]), init([sizes[l + 1]]));
      }
      if (this.optimizer) this.optimizer.dispose();
      this.optimizer = tf.train.adam(s.lr);
      this.logMA = null;
      this.step = 0;
      this.history = [];
      this.estimate = NaN;
      this.truth = gaussianMI(s.rho, s.dim);
      this.stepsPerSecond = NaN;
      this.evaluate();
      this.publish();
      this.draw();
    }

    critic(x, z) {
      let h = tf.concat([x, z], 1);
      for (let l = 0; l < 3; l++) {
        h = tf.add(tf.matMul(h, this.params[2 * l]), this.params[2 * l + 1]);
        if (l < 2) h = tf.elu(h);
      }
      return tf.reshape(h, [-1]);
    }

    batch() {
      const b = this.cfg.batchSize;
      const idx = new Int32Array(b);
      for (let i = 0; i < b; i++) idx[i] = Math.floor(this.rand() * N_TRAIN);
      const perm = derangement(b, this.rand);
      return tf.tidy(() => {
        const rows = tf.tensor1d(idx, "int32");
        const xb = tf.gather(this.data.xTrain, rows);
        const zb = tf.gather(this.data.zTrain, rows);
        return [xb, zb, tf.gather(zb, tf.tensor1d(perm, "int32"))];
      });
    }

    trainStep() {
      const [xb, zb, zm] = this.batch();
      const logMeanExp = (t) => tf.sub(tf.logSumExp(t), Math.log(t.shape[0]));
      let logMA = null;
      if (this.cfg.objective === "dv" && this.cfg.gradient === "ema") {
        // the moving average of E_B[e^T], this batch included with weight alpha (log space, minelib.ema)
        const current = tf.tidy(() => logMeanExp(this.critic(xb, zm)).dataSync()[0]);
        this.logMA = this.logMA === null ? current : logAddExp(this.logMA + Math.log1p(-EMA_RATE), current + Math.log(EMA_RATE));
        logMA = this.logMA;
      }
      this.optimizer.minimize(() => {
        const joint = tf.mean(this.critic(xb, zb));
        const marginal = this.critic(xb, zm);
        if (this.cfg.objective === "f") return tf.neg(tf.sub(joint, tf.mean(tf.exp(tf.sub(marginal, 1)))));
        if (logMA === null) return tf.neg(tf.sub(joint, logMeanExp(marginal)));
        // gradient of E_B[e^(T - log ma)] is E_B[grad T e^T] / ma: the moving-average gradient
        return tf.neg(tf.sub(joint, tf.mean(tf.exp(tf.sub(marginal, logMA)))));
      }, false, this.params);
      tf.dispose([xb, zb, zm]);
      this.step += 1;
      if (this.step % EVAL_EVERY === 0) this.evaluate();
    }

    evaluate() {
      // the bound of the current network on the held-out pairs, z re-paired 10 times (minelib's estimate)
      const perms = Array.from({ length: N_SHUFFLES }, () => derangement(N_TEST, this.evalRand));
      this.estimate = tf.tidy(() => {
        const joint = tf.mean(this.critic(this.data.xTest, this.data.zTest));
        const marginal = tf.concat(perms.map((p) => this.critic(this.data.xTest, tf.gather(this.data.zTest, tf.tensor1d(p, "int32")))));
        const second = this.cfg.objective === "f" ? tf.mean(tf.exp(tf.sub(marginal, 1))) : tf.sub(tf.logSumExp(marginal), Math.log(marginal.shape[0]));
        return tf.sub(joint, second).dataSync()[0];
      });
      this.history.push([this.step, this.estimate]);
    }

    publish() {
      const r = this.root;
      r.dataset.step = String(this.step);
      r.dataset.estimate = String(this.estimate);
      r.dataset.truth = String(this.truth);
      r.dataset.stepsPerSecond = String(this.stepsPerSecond);
      const sps = Number.isFinite(this.stepsPerSecond) ? `${this.stepsPerSecond.toFixed(0)} steps/s on this device` : "not started";
      this.status.textContent = `step ${this.step} · held-out estimate ${this.estimate.toFixed(3)} nats · exact MI ${this.truth.toFixed(3)} nats · ${sps}`;
    }

    async run(steps) {
      // train `steps` steps (Infinity: until paused), yielding to the page every few steps
      const id = (this.runId = (this.runId || 0) + 1); // at most one training loop at a time
      this.running = true;
      const start = performance.now();
      const first = this.step;
      while (this.running && id === this.runId && this.step - first < steps) {
        const chunk = Math.min(25, steps - (this.step - first));
        for (let i = 0; i < chunk; i++) this.trainStep();
        this.stepsPerSecond = (1000 * (this.step - first)) / (performance.now() - start);
        this.publish();
        this.draw();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (id !== this.runId) return this.estimate; // superseded by a reset or a newer run
      this.running = false;
      if (this.step % EVAL_EVERY !== 0) this.evaluate();
      this.publish();
      this.draw();
      return this.estimate;
    }

    // ---------------------------------------------------------------- drawing
    draw() {
      this.drawSamples();
      this.drawCurve();
      this.drawCritic();
    }

    drawSamples() {
      const c = this.canvases.samples;
      const g = c.getContext("2d");
      g.clearRect(0, 0, c.width, c.height);
      const { xTest, zTest } = this.raw;
      const d = this.cfg.dim;
      const map = (v) => ((v + 3.5) / 7) * c.width;
      const perm = derangement(300, mulberry32(7));
      axes(g, c, "x (first coordinate)", "z");
      for (const [color, pick] of [["rgba(221,132,82,0.6)", (i) => perm[i]], ["rgba(76,114,176,0.7)", (i) => i]]) {
        g.fillStyle = color;
        for (let i = 0; i < 300; i++) g.fillRect(map(xTest[i * d]) - 1.5, c.height - map(zTest[pick(i) * d]) - 1.5, 3, 3);
      }
      legend(g, [["rgb(76,114,176)", "joint pairs"], ["rgb(221,132,82)", "re-paired (marginals)"]]);
    }

    drawCurve() {
      const c = this.canvases.curve;
      const g = c.getContext("2d");
      g.clearRect(0, 0, c.width, c.height);
      axes(g, c, "training step", "held-out estimate [nats]");
      const top = Math.max(this.truth * 1.3, 0.3);
      const lastStep = Math.max(500, this.step);
      const X = (s) => 40 + (s / lastStep) * (c.width - 50);
      const Y = (v) => c.height - 30 - ((Math.max(v, -0.2 * top) + 0.2 * top) / (1.2 * top)) * (c.height - 40);
      g.setLineDash([6, 4]);
      g.strokeStyle = "black";
      g.beginPath();
      g.moveTo(X(0), Y(this.truth));
      g.lineTo(X(lastStep), Y(this.truth));
      g.stroke();
      g.setLineDash([]);
      g.strokeStyle = "rgb(76,114,176)";
      g.lineWidth = 2;
      g.beginPath();
      this.history.forEach(([s, v], i) => (i ? g.lineTo(X(s), Y(v)) : g.moveTo(X(s), Y(v))));
      g.stroke();
      g.lineWidth = 1;
      g.fillStyle = "#333";
      g.font = "10px sans-serif";
      for (const v of [0, this.truth, top]) g.fillText(v.toFixed(2), 18, Y(v) + 3);  // y ticks, nats
      g.fillText(String(lastStep), c.width - 40, c.height - 18);  // the last step shown
      legend(g, [["black", `exact I = ${this.truth.toFixed(3)}`], ["rgb(76,114,176)", "held-out estimate"]]);
    }

    drawCritic() {
      const grid = 48;
      const values = [];
      const optimal = [];
      const d = this.cfg.dim;
      const points = [];
      for (let i = 0; i < grid; i++) for (let j = 0; j < grid; j++) points.push([-3 + (6 * j) / (grid - 1), 3 - (6 * i) / (grid - 1)]);
      tf.tidy(() => {
        // other coordinates (d = 2) held at 0: a slice of T through the first coordinate pair
        const xs = points.map(([x]) => [x, ...Array(d - 1).fill(0)]);
        const zs = points.map(([, z]) => [z, ...Array(d - 1).fill(0)]);
        values.push(...this.critic(tf.tensor2d(xs), tf.tensor2d(zs)).dataSync());
        const xt = tf.slice(this.data.xTest, [0, 0], [300, d]);
        const zt = tf.slice(this.data.zTest, [0, 0], [300, d]);
        const tJoint = this.critic(xt, zt).dataSync();
        const shifts = [];
        for (let i = 0; i < 300; i++) {
          let star = 0;
          for (let k = 0; k < d; k++) star += optimalCritic(this.raw.xTest[i * d + k], this.raw.zTest[i * d + k], this.cfg.rho);
          shifts.push(star - tJoint[i]);
        }
        shifts.sort((a, b) => a - b);
        this.shift = shifts[150]; // the DV bound ignores constants: match T* on the joint pairs (median)
      });
      for (const [x, z] of points) optimal.push(optimalCritic(x, z, this.cfg.rho) + (d - 1) * -0.5 * Math.log(1 - this.cfg.rho ** 2));
      heat(this.canvases.critic, values.map((v) => v + this.shift), grid, "learned T + c");
      heat(this.canvases.optimal, optimal, grid, "optimal T*");
    }
  }

  function logAddExp(a, b) {
    const m = Math.max(a, b);
    return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
  }
  function axes(g, c, xlabel, ylabel) {
    g.strokeStyle = "#888";
    g.strokeRect(0.5, 0.5, c.width - 1, c.height - 1);
    g.fillStyle = "#333";
    g.font = "11px sans-serif";
    g.fillText(xlabel, c.width / 2 - 40, c.height - 6);
    g.save();
    g.translate(11, c.height / 2 + 40);
    g.rotate(-Math.PI / 2);
    g.fillText(ylabel, 0, 0);
    g.restore();
  }
  function legend(g, items) {
    g.font = "11px sans-serif";
    items.forEach(([color, text], i) => {
      g.fillStyle = color;
      g.fillRect(48, 10 + 14 * i, 10, 10);
      g.fillStyle = "#333";
      g.fillText(text, 62, 19 + 14 * i);
    });
  }
  function heat(c, values, grid, title) {
    const g = c.getContext("2d");
    const cell = c.width / grid;
    for (let i = 0; i < grid; i++)
      for (let j = 0; j < grid; j++) {
        const v = Math.max(-4, Math.min(2, values[i * grid + j]));
        const t = (v + 4) / 6; // -4 .. 2 nats: blue .. red
        g.fillStyle = `rgb(${Math.round(255 * t)},${Math.round(255 * (1 - Math.abs(2 * t - 1)))},${Math.round(255 * (1 - t))})`;
        g.fillRect(j * cell, i * cell, cell + 1, cell + 1);
      }
    g.fillStyle = "white";
    g.font = "bold 12px sans-serif";
    g.fillText(title, 6, 16);
    g.font = "11px sans-serif";
    g.fillText("x from -3 to 3 →", c.width - 100, c.height - 6);
    g.fillText("z ↑", 6, c.height - 6);
  }

  async function start() {
    const root = document.getElementById("mine-playground");
    if (!root || !window.tf) return;
    await tf.setBackend("cpu");
    await tf.ready();
    const pg = new Playground(root);
    window.minePlayground = pg;
    const on = (selector, event, f) => root.querySelectorAll(selector).forEach((e) => e.addEventListener(event, f));
    on("button[data-action=start]", "click", () => pg.running || pg.run(Infinity));
    on("button[data-action=pause]", "click", () => (pg.running = false));
    on("button[data-action=reset]", "click", () => pg.reset());
    on("input", "change", () => pg.reset());
    on("input[name=rho]", "input", (e) => (root.querySelector("[data-view=rho]").textContent = Number(e.target.value).toFixed(2)));
    root.dataset.ready = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
