// Package stream defines the websocket messages of the log and exec streams.
// The same messages travel from agent to server and from server to client,
// so the server relays them without decoding.
//
// Logs: every text message is one api.LogEntry as JSON; the sender closes
// with status 1000 when the stream ends.
//
// Exec: the client sends stdin as binary messages and Control values as text
// messages; the other side sends output as binary messages whose first byte
// is the stream (StdoutByte or StderrByte) and ends with a text message
// holding an Exit, then closes with status 1000.
package stream

import (
	"encoding/json"
	"errors"
)

// Stream bytes that start an exec output message.
const (
	StdoutByte byte = 1
	StderrByte byte = 2
)

// Control is a text message from the exec client.
type Control struct {
	// Resize reports the client terminal's new size.
	Resize *Size `json:"resize,omitempty"`
	// CloseStdin ends the command's standard input.
	CloseStdin bool `json:"close_stdin,omitempty"`
}

// Size is a terminal size in character cells.
type Size struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Exit is the last text message of an exec stream.
type Exit struct {
	// ExitCode is the command's exit status.
	ExitCode int `json:"exit_code"`
	// Error explains a failure to run the command at all.
	Error string `json:"error,omitempty"`
}

// Output frames data read from stream s (StdoutByte or StderrByte) as a
// binary message.
func Output(s byte, data []byte) []byte {
	msg := make([]byte, 1+len(data))
	msg[0] = s
	copy(msg[1:], data)
	return msg
}

// ParseOutput splits a binary exec message into its stream byte and data.
func ParseOutput(msg []byte) (byte, []byte, error) {
	if len(msg) == 0 || (msg[0] != StdoutByte && msg[0] != StderrByte) {
		return 0, nil, errors.New("stream: output message without a stream byte")
	}
	return msg[0], msg[1:], nil
}

// ParseText decodes a text message of an exec stream into the Control or
// Exit it holds.
func ParseText(msg []byte, v any) error {
	if err := json.Unmarshal(msg, v); err != nil {
		return errors.New("stream: bad control message: " + err.Error())
	}
	return nil
}
