package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// rssMiB is a process's resident memory now and at its peak, from /proc.
func rssMiB(pid int) (now, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			now = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return now, peak
}

// BenchmarkUnreadWatches measures moosed's resident memory (a real moosed
// process, API-only, on a test database) with 1,000 watch streams on one
// work order whose readers take the first event and then nothing, for a
// history of 740 events (1 KiB each) and one four times as long; beside, in
// the same run, the idle process and 1,000 readers that keep up (the whole
// history read, streams left open). Each scenario runs on a fresh moosed, so
// one's freed memory does not inflate the next. A stream holds at most one
// page of events, its send buffer and what HTTP/2 flow control lets the
// transport queue, so the unread watches' cost is bounded per stream
// instead of growing with the history.
//
//	go test -run '^$' -bench UnreadWatches -benchtime 1x ./server/e2e/
func BenchmarkUnreadWatches(b *testing.B) {
	const streams = 1000
	for range b.N {
		idle, unread := watchMemory(b, streams, 740, false)
		_, unreadLong := watchMemory(b, streams, 4*740, false)
		_, read := watchMemory(b, streams, 740, true)
		b.ReportMetric(idle, "MiB-idle")
		b.ReportMetric(unread, "MiB-1000-unread")
		b.ReportMetric(unreadLong, "MiB-1000-unread-4x-history")
		b.ReportMetric(read, "MiB-1000-read")
		b.ReportMetric((unread-idle)*1024/streams, "KiB/unread-stream")
		b.Logf("idle %.0f MiB; 1,000 unread watches %.0f MiB (history 740 events), %.0f MiB (2,960 events); 1,000 read to the end %.0f MiB",
			idle, unread, unreadLong, read)
	}
}

// watchMemory starts a moosed, gives one work order a history of events,
// opens streams watches on it (reading everything when read, else only the
// first event) and returns moosed's resident MiB before the watches and five
// seconds after they opened (well inside the 30 s slow-reader limit).
func watchMemory(b *testing.B, streams, history int, read bool) (idle, watching float64) {
	b.Helper()
	const perConn = 200 // a connection carries up to 256 calls at once
	n := newNode(b, withArgs("--api-only", "--max-streams", strconv.Itoa(2*streams), "--log-level", "warn"))
	n.start()
	defer n.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := n.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "watched", RepoUrl: "https://git.example.com/r/watched",
		DefaultBranch: "main", Language: "go"})
	if err != nil {
		b.Fatal(err)
	}
	r, err := n.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "watched", Complexity: 2})
	if err != nil {
		b.Fatal(err)
	}
	id := r.GetWorkOrder().GetId()
	n.db(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `INSERT INTO work_order_events (work_order_id, type, message)
			SELECT $1, 'info', repeat('x', 1024) FROM generate_series(1, $2::int)`, id, history-1)
		return err
	})
	pid := n.pid()
	time.Sleep(2 * time.Second)
	idle, _ = rssMiB(pid)

	want := 1
	if read {
		want = history
	}
	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		if i%perConn == 0 {
			c, err := grpc.NewClient(n.conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithPerRPCCredentials(servertest.Bearer(n.token)))
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		wos := moosev1.NewWorkOrderServiceClient(conns[len(conns)-1])
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
			for k := 0; err == nil && k < want; k++ {
				_, err = st.Recv()
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("watch: %v", err)
	}
	time.Sleep(5 * time.Second)
	watching, _ = rssMiB(pid)
	return idle, watching
}
