package moose_test

import (
	"context"
	"fmt"
	"log"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// A typical session: register a project, create a work order, approve it and
// follow it until it ends.
func Example() {
	ctx := context.Background()
	c, err := moose.Dial(ctx, moose.DefaultAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	p, err := c.CreateProject(ctx, &moosev1.CreateProjectRequest{
		Name: "strings", RepoUrl: "https://github.com/acme/strings",
		DefaultBranch: "main", Language: "typescript",
	})
	if err != nil {
		log.Fatal(err)
	}
	wo, err := c.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{
		ProjectId:          p.GetId(),
		Title:              "Add padLeft",
		Description:        "Add padLeft(s, n, ch) to src/pad.ts with tests.",
		AcceptanceCriteria: []string{"padLeft('7', 3, '0') === '007'", "npm test passes"},
		Complexity:         2,
		RequestId:          "pad-left-1", // repeat-safe: the same id returns the same work order
	})
	if err != nil {
		// InvalidArgument answers name every bad field.
		for _, v := range moose.FieldViolations(err) {
			log.Printf("%s: %s", v.Field, v.Description)
		}
		log.Fatal(err)
	}
	if _, err := c.ApproveWorkOrder(ctx, wo.GetId()); err != nil {
		log.Fatal(err)
	}
	final, err := c.WatchUntilDone(ctx, wo.GetId(), func(e *moosev1.Event) error {
		fmt.Println(e.GetType(), moose.StatusName(e.GetToStatus()), e.GetPhase(), e.GetMessage())
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended", moose.StatusName(final.GetStatus()), final.GetResult().GetOverallScore())
}

// Watch is an iterator; breaking out of the loop closes the stream.
func ExampleClient_Watch() {
	ctx := context.Background()
	c, err := moose.Dial(ctx, "127.0.0.1:7400")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for e, err := range c.Watch(ctx, "0193e0c4-1111-7000-8000-000000000001") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.GetId(), e.GetType(), e.GetMessage())
		if e.GetPhase() == "publishing" {
			break // no need to wait for the end
		}
	}
}

// AllWorkOrders pages behind the scenes.
func ExampleClient_AllWorkOrders() {
	ctx := context.Background()
	c, err := moose.Dial(ctx, moose.DefaultAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	failed := moose.WorkOrderFilter{Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED}
	for wo, err := range c.AllWorkOrders(ctx, failed, 100) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(wo.GetId(), wo.GetTitle(), wo.GetResult().GetFailureReason())
	}
}

// Services without wrappers are reachable through the generated clients on
// the same connection.
func ExampleClient_Conn() {
	ctx := context.Background()
	c, err := moose.Dial(ctx, moose.DefaultAddr, moose.WithBlock())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	raw := moosev1.NewWorkOrderServiceClient(c.Conn()) // or NewPluginServiceClient, ...
	resp, err := raw.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{PageSize: 10})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(resp.GetWorkOrders()))
}
