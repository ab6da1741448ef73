// The member flows of a mobile app, written against the client generated
// from openapi.json (openapi-typescript types + openapi-fetch), as a mobile
// team would. `tsc --strict` compiles it with no casts; the end-to-end test
// runs it against the local stack (shared/local/localstack/tsclient_test.go).
//
// Run: API_URL=... TOKEN=... EXPENSIVE_REWARD=... node flows.mjs
// It prints one JSON line per step and exits 1 on the first wrong answer.
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Schemas = components["schemas"];
type ServiceError = Schemas["Error"];
type GatewayError = Schemas["GatewayError"];
type Notification = Schemas["Notification"];

// Node's process, declared for what this file uses (no @types/node).
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

// An error body is the service's when it has a code, API Gateway's
// ({"message": ...}) otherwise: branch on the code, refresh the token on
// a gateway 401, never parse a message.
export function isServiceError(e: ServiceError | GatewayError): e is ServiceError {
  return "code" in e;
}

// What the app shows for a notification: every kind has its own typed
// data, and a kind the switch forgets does not compile.
export function describe(n: Notification): string {
  switch (n.kind) {
    case "points_expiring":
      return `${n.data.points} points expire in ${n.data.daysLeft} days`;
    case "reward_expiring":
      return `${n.data.rewardName} is valid until ${n.data.validUntil}`;
    case "reward_affordable":
      return `you can afford ${n.data.rewards.map((r) => r.name).join(", ")}`;
    case "points_expired":
      return `${n.data.points} points expired`;
    case "class_changed":
      return `you are now ${n.data.to}`;
    case "winback_offered":
      return `${n.data.points} bonus points`;
    case "tier_changed":
      return `your tier is now ${n.data.to}`;
    case "referee_bonus":
      return `${n.data.points} bonus points for joining with a referral`;
    case "referrer_bonus":
      return n.data.state === "capped"
        ? `your referral counted; this month's ${n.data.monthlyCap} bonuses are paid`
        : `${n.data.points} bonus points for your referral`;
    case "referral_clawback":
      return `${n.data.points} referral bonus points taken back`;
    case "feedback_bonus":
      return `${n.data.points} bonus points for your feedback (${n.data.rating} of 5)`;
    default: {
      const unknown: never = n;
      return String(unknown);
    }
  }
}

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") {
    throw new Error(`set ${name}`);
  }
  return v;
}

class Wrong extends Error {}

function expect(ok: boolean, what: string): void {
  if (!ok) {
    throw new Wrong(what);
  }
}

function step(name: string, detail: Record<string, unknown>): void {
  console.log(JSON.stringify({ step: name, ...detail }));
}

async function main(): Promise<void> {
  const baseUrl = need("API_URL");
  const token = need("TOKEN");
  const expensive = need("EXPENSIVE_REWARD");
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  // me
  const me = await api.GET("/v1/me");
  expect(me.data !== undefined, `GET /v1/me: ${me.response.status}`);
  if (me.data === undefined) return;
  step("me", { balance: me.data.balance, tier: me.data.tier, expiring: me.data.expiringNext?.points ?? 0, class: me.data.class?.class ?? null });

  // activity, a page at a time until nextCursor is empty
  let entries = 0;
  let pages = 0;
  for (let cursor = ""; ; ) {
    const page = await api.GET("/v1/me/activity", { params: { query: cursor === "" ? { limit: 1 } : { limit: 1, cursor } } });
    expect(page.data !== undefined, `GET /v1/me/activity: ${page.response.status}`);
    if (page.data === undefined) return;
    entries += page.data.entries.length;
    pages++;
    for (const e of page.data.entries) {
      expect(typeof e.points === "number" && e.kind.length > 0, `entry ${e.id}`);
    }
    if (page.data.nextCursor === "") break;
    cursor = page.data.nextCursor;
  }
  step("activity", { entries, pages });

  // rewards: the first one the balance covers
  const rewards = await api.GET("/v1/rewards");
  expect(rewards.data !== undefined, `GET /v1/rewards: ${rewards.response.status}`);
  if (rewards.data === undefined) return;
  const affordable = rewards.data.rewards.find((r) => r.affordable);
  expect(affordable !== undefined, "no affordable reward");
  if (affordable === undefined) return;
  step("rewards", { count: rewards.data.rewards.length, affordable: affordable.id });

  // redeem, then the retry a flaky network makes: same key, same answer
  const key = `flows-${Date.now()}`;
  const redeem = () =>
    api.POST("/v1/me/redemptions", { params: { header: { "Idempotency-Key": key } }, body: { rewardId: affordable.id } });
  const first = await redeem();
  expect(first.response.status === 201 && first.data !== undefined, `redeem: ${first.response.status}`);
  if (first.data === undefined) return;
  const again = await redeem();
  expect(again.data?.id === first.data.id, "the retry answered another redemption");
  expect(again.response.headers.get("Idempotent-Replayed") === "true", "the retry did not say Idempotent-Replayed");
  step("redeem", { id: first.data.id, code: first.data.code, state: first.data.state, replayed: true });

  // the list shows it; cancel gives the points back
  const list = await api.GET("/v1/me/redemptions");
  expect(list.data?.redemptions.some((r) => r.id === first.data?.id) === true, "the redemption is not listed");
  const cancel = await api.DELETE("/v1/me/redemptions/{redemptionId}", { params: { path: { redemptionId: first.data.id } } });
  expect(cancel.data?.state === "cancelled", `cancel: ${cancel.response.status}`);
  step("cancel", { id: first.data.id, state: cancel.data?.state ?? "" });

  // inbox: every notification described from its typed data
  const inbox = await api.GET("/v1/me/notifications", { params: { query: { limit: 20 } } });
  expect(inbox.data !== undefined, `GET /v1/me/notifications: ${inbox.response.status}`);
  if (inbox.data === undefined) return;
  const texts = inbox.data.notifications.map(describe);
  const first_ = inbox.data.notifications[0];
  if (first_ !== undefined) {
    const read = await api.POST("/v1/me/notifications/{notificationId}/read", { params: { path: { notificationId: first_.id } } });
    expect(read.data?.readAt !== null && read.data?.readAt !== undefined, "mark read: no readAt");
  }
  step("inbox", { notifications: texts.length, texts });

  // errors of the service: a stable code, a request id to quote
  const poor = await api.POST("/v1/me/redemptions", {
    params: { header: { "Idempotency-Key": `${key}-expensive` } },
    body: { rewardId: expensive },
  });
  expect(poor.error !== undefined && isServiceError(poor.error) && poor.error.code === "insufficient_points", `expensive reward: ${poor.response.status}`);
  const missing = await api.POST("/v1/me/notifications/{notificationId}/read", { params: { path: { notificationId: "no-such-note" } } });
  expect(missing.error !== undefined && isServiceError(missing.error) && missing.error.code === "not_found", `unknown notification: ${missing.response.status}`);
  step("service errors", {
    expensive: poor.error !== undefined && isServiceError(poor.error) ? poor.error.code : "",
    requestId: poor.error !== undefined && isServiceError(poor.error) ? poor.error.requestId : "",
    unknownNotification: missing.error !== undefined && isServiceError(missing.error) ? missing.error.code : "",
  });

  // errors of API Gateway: an expired or wrong token is {"message":"Unauthorized"}
  const stranger = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer not-a-token" } });
  const denied = await stranger.GET("/v1/me");
  expect(denied.response.status === 401 && denied.error !== undefined && !isServiceError(denied.error), `bad token: ${denied.response.status}`);
  step("gateway errors", {
    status: denied.response.status,
    message: denied.error !== undefined && !isServiceError(denied.error) ? denied.error.message : "",
  });
}

main().catch((err: unknown) => {
  console.log(JSON.stringify({ step: "failed", error: err instanceof Error ? err.message : String(err) }));
  process.exitCode = 1;
});
