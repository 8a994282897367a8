// A client of moosed's REST API, typed by schema.d.ts, which openapi-typescript
// generates from the served /openapi.json (TestTypeScriptClient). Every field
// is read under its generated name: tsc fails if the document names it
// otherwise, and defined() fails if the server sends it under another name.
// It prints what it read as one JSON object for the Go test to compare with
// what gRPC says.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// The few Node globals used here (no @types/node: nothing else is needed).
declare const process: { env: Record<string, string | undefined> };

type WorkOrder = components["schemas"]["v1WorkOrder"];
type Status = components["schemas"]["v1WorkOrderStatus"];

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// defined returns v, or throws naming what was undefined: a field the
// document declares but the server did not send under that name.
function defined<T>(v: T | null | undefined, what: string): T {
  if (v === undefined || v === null) throw new Error(`${what} is ${v}`);
  return v;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const client = createClient<paths>({
  baseUrl: env("MOOSE_URL"),
  headers: { Authorization: `Bearer ${env("MOOSE_TOKEN")}` },
});

const created = await client.POST("/v1/projects", {
  body: {
    name: "ts-shell",
    repo_url: env("MOOSE_REPO"),
    default_branch: "main",
    language: "shell",
    build_command: "sh -n lib.sh && sh -n test.sh",
    test_command: "sh test.sh",
  },
});
const project = defined(defined(created.data, `create project: ${JSON.stringify(created.error)}`).project, "project");
const projectID = defined(project.id, "project.id");
check(project.default_branch === "main", "project.default_branch");
check(defined(project.create_time, "project.create_time").length > 0, "project.create_time");

const variant = await client.POST("/v1/variants", {
  body: { name: "ts-replay", plugin_name: "replay", base_url: env("MOOSE_CASSETTE") },
});
const variantID = defined(defined(variant.data, `create variant: ${JSON.stringify(variant.error)}`).variant?.id, "variant.id");

const ids: string[] = [];
for (const n of [1, 2]) {
  const r = await client.POST("/v1/workorders", {
    body: {
      project_id: projectID,
      variant_id: variantID,
      title: "Add a greet function",
      description: "greet NAME prints hello, NAME",
      acceptance_criteria: ["greet moose prints hello, moose"],
      complexity: 1,
      request_id: `ts-client-${n}`,
    },
  });
  const wo: WorkOrder = defined(defined(r.data, `create work order: ${JSON.stringify(r.error)}`).work_order, "work_order");
  check(wo.status === "WORK_ORDER_STATUS_PENDING", `new work order status ${wo.status}`);
  check(wo.project_id === projectID, "work_order.project_id");
  check(defined(wo.acceptance_criteria, "work_order.acceptance_criteria").length === 1, "work_order.acceptance_criteria");
  ids.push(defined(wo.id, "work_order.id"));
}
const id = defined(ids[0], "first id");

const approved = await client.POST("/v1/workorders/{id}%3Aapprove", { params: { path: { id } }, body: {} });
const approvedStatus = defined(defined(approved.data, `approve: ${JSON.stringify(approved.error)}`).work_order?.status, "approved status");
check(approvedStatus === "WORK_ORDER_STATUS_APPROVED", `approved status ${approvedStatus}`);

// Poll until the work order ends (the replay variant answers at once; the
// build and test are two shell commands).
const terminal: Status[] = ["WORK_ORDER_STATUS_COMPLETED", "WORK_ORDER_STATUS_NEEDS_REVIEW", "WORK_ORDER_STATUS_FAILED", "WORK_ORDER_STATUS_CANCELLED"];
let done: WorkOrder | undefined;
for (const deadline = Date.now() + 4 * 60_000; Date.now() < deadline; ) {
  const got = await client.GET("/v1/workorders/{id}", { params: { path: { id } } });
  const wo = defined(defined(got.data, `get: ${JSON.stringify(got.error)}`).work_order, "work_order");
  if (terminal.includes(defined(wo.status, "work_order.status"))) {
    done = wo;
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
done = defined(done, "a terminal work order within 4 minutes");
const result = defined(done.result, "work_order.result");
const read = {
  status: defined(done.status, "status"),
  overall_score: defined(result.overall_score, "result.overall_score"),
  passed: defined(result.passed, "result.passed"),
  build_passed: defined(result.build_passed, "result.build_passed"),
  tests_passed: defined(result.tests_passed, "result.tests_passed"),
  tests_total: defined(result.tests_total, "result.tests_total"),
  cycles: defined(result.cycles, "result.cycles"),
  // int64 fields are JSON strings, and typed as such.
  input_tokens: defined(result.input_tokens, "result.input_tokens"),
  output_tokens: defined(result.output_tokens, "result.output_tokens"),
  dimensions: defined(result.dimensions, "result.dimensions").map((d) => defined(d.name, "dimension.name")),
  variant_id: defined(done.variant_id, "variant_id"),
};
check(typeof read.input_tokens === "string", "int64 input_tokens is a string");

const events = await client.GET("/v1/workorders/{id}/events", { params: { path: { id } } });
const toStatuses = defined(defined(events.data, "events").events, "events")
  .filter((e) => e.type === "created" || e.type === "transition")
  .map((e) => defined(e.to_status, "event.to_status"));

// Page through the project's work orders one at a time.
const listed: string[] = [];
let pages = 0;
let pageToken = "";
do {
  const page = await client.GET("/v1/workorders", {
    params: { query: { project_id: projectID, page_size: 1, page_token: pageToken } },
  });
  const data = defined(page.data, `list: ${JSON.stringify(page.error)}`);
  const wos = defined(data.work_orders, "work_orders");
  check(wos.length <= 1, `page_size=1 gave ${wos.length}`);
  listed.push(...wos.map((w) => defined(w.id, "listed id")));
  pageToken = defined(data.next_page_token, "next_page_token");
  pages++;
  check(pages <= 3, "more pages than work orders");
} while (pageToken !== "");

// Errors come typed with the error schema.
const missing = await client.GET("/v1/workorders/{id}", { params: { path: { id: "00000000-0000-4000-8000-000000000000" } } });
check(missing.response.status === 404, `unknown work order: HTTP ${missing.response.status}`);
const notFound = defined(missing.error, "404 error body");
check(notFound.code === 5, `404 error code ${notFound.code}`);
check(defined(notFound.message, "error.message").length > 0, "error.message");

console.log(JSON.stringify({ project_id: projectID, variant_id: variantID, ids, approved_status: approvedStatus, read, to_statuses: toStatuses, listed, pages, not_found: { code: notFound.code, message: notFound.message } }));
