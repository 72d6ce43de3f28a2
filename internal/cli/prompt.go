package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// minPasswordLen is the API's shortest password.
const minPasswordLen = 8

// terminal returns the file descriptor of stdin when it is a terminal.
func (a *app) terminal() (int, bool) {
	f, ok := a.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// readLine reads one line of stdin, without its line ending.
func (a *app) readLine() (string, error) {
	if a.lines == nil {
		a.lines = bufio.NewReader(a.in)
	}
	line, err := a.lines.ReadString('\n')
	if errors.Is(err, io.EOF) && line != "" {
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readSecret asks for a secret on a terminal without echoing it, or reads
// one line of stdin when stdin is not a terminal.
func (a *app) readSecret(prompt string) (string, error) {
	fd, ok := a.terminal()
	if !ok {
		s, err := a.readLine()
		if err != nil {
			return "", fmt.Errorf("%w (no terminal to ask for a password: set $NIMBUS_PASSWORD or pipe it on stdin)", err)
		}
		return s, nil
	}
	fmt.Fprint(a.errOut, prompt)
	raw, err := term.ReadPassword(fd)
	fmt.Fprintln(a.errOut)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(raw), nil
}

// newPassword returns a new password for who: $NIMBUS_NEW_PASSWORD, else
// asked twice on a terminal, else one line of stdin.
func (a *app) newPassword(who string) (string, error) {
	if p := os.Getenv("NIMBUS_NEW_PASSWORD"); p != "" {
		return p, nil
	}
	p, err := a.readSecret(fmt.Sprintf("New password for %s: ", who))
	if err != nil {
		return "", err
	}
	if len(p) < minPasswordLen {
		return "", fmt.Errorf("the password is too short: use at least %d characters", minPasswordLen)
	}
	if _, ok := a.terminal(); ok {
		again, err := a.readSecret("Repeat it: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the passwords differ: run the command again")
		}
	}
	return p, nil
}

// confirm asks a yes/no question on a terminal; without one it refuses and
// names the flag that skips the question.
func (a *app) confirm(question, skipFlag string) error {
	if _, ok := a.terminal(); !ok {
		return fmt.Errorf("not confirmed: pass %s to go ahead without a terminal", skipFlag)
	}
	fmt.Fprintf(a.errOut, "%s [y/N] ", question)
	answer, err := a.readLine()
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("cancelled")
}
