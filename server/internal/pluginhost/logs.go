package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// maxLogLine bounds one re-emitted plugin log line.
const maxLogLine = 64 << 10

// stderrLogger receives a plugin's stderr and re-emits every line as a host log
// record. JSON lines in hclog's shape (@level, @message, @timestamp, other keys)
// become structured records; anything else (a panic trace) is logged verbatim.
// It parses lines itself instead of letting go-plugin do it, because
// go-plugin's parser panics on a JSON line whose @message is not a string.
type stderrLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *stderrLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			if w.buf.Len() > maxLogLine {
				w.emit(w.buf.Bytes())
				w.buf.Reset()
			}
			return len(p), nil
		}
		w.emit(w.buf.Next(i + 1)[:i])
	}
}

func (w *stderrLogger) emit(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	if len(line) > maxLogLine {
		line = line[:maxLogLine]
	}
	var fields map[string]any
	if line[0] != '{' || json.Unmarshal(line, &fields) != nil {
		w.log.Info(string(line), "plugin_output", "raw")
		return
	}
	level := slog.LevelInfo
	msg := "plugin log"
	attrs := make([]slog.Attr, 0, len(fields))
	for k, v := range fields {
		switch k {
		case "@level", "level":
			if s, ok := v.(string); ok {
				level = parseLevel(s)
			}
		case "@message", "msg":
			if s, ok := v.(string); ok {
				msg = s
			}
		case "@timestamp", "time", "@module":
		default:
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	w.log.LogAttrs(context.Background(), level, msg, attrs...)
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
