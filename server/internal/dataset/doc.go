// Package dataset turns Moose's stored attempts into training data for the
// next open model (DESIGN.md, "Learning loop": Datasets).
//
// Two kinds are exported, each record one JSON line:
//
//   - SFT (supervised fine-tuning): one chat conversation per accepted work
//     order, in the "messages" format most trainers read (OpenAI fine-tuning,
//     TRL SFTTrainer, axolotl "chat_template"):
//
//     {"messages":[{"role":"system","content":...},{"role":"user","content":...},
//     {"role":"assistant","content":...}],"metadata":{...}}
//
//     The assistant message is the raw proposal of the work order's final
//     attempt: the last non-shadow cycle of its last execution. A work order
//     qualifies when it is completed and that attempt's score passed with an
//     overall score of at least MinScore. Only the final attempt is used
//     because it is the one that was published; an earlier cycle that scored
//     well but was refined further was not accepted.
//
//   - DPO (direct preference optimization): one pair per failed earlier cycle
//     of the same execution as the accepted final attempt, in TRL's
//     conversational preference format:
//
//     {"prompt":[system, user],"chosen":[{"role":"assistant",...}],
//     "rejected":[{"role":"assistant",...}],"metadata":{...}}
//
//     Pairs come from one execution only: the prompt of a later execution may
//     differ (a retry after a repository change), so a cross-execution pair
//     would not share its prompt. A failed cycle is one that was not scored
//     or whose score did not pass. Cycles with an empty proposal (a provider
//     error) or one identical to the fix teach nothing and are skipped.
//
// The user message is the work order rendered as text (title, description,
// acceptance criteria), not the exact prompt the variant saw: attempts keep
// only a hash of the prompt, and the repository context in it (file tree,
// manifests) belongs to a commit that no longer exists.
//
// # Split
//
// A work order goes to the validation split when the first 8 bytes of the
// SHA-256 of its id, read as a fraction of 2^64, fall below
// ValidationFraction. The split depends on nothing else, so it is the same in
// every export (a later, larger export never moves a validation work order
// into train) and every record of a work order lands in the same split, which
// keeps near-duplicate DPO pairs from leaking between the two.
package dataset
