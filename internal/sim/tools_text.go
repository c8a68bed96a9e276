package sim

// Text programs: head, tail, wc, tee and a fixed-string grep. They stream where they can, so
// output reaches an SSH client as it is produced.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// lineCount reads the -n value of head and tail, also accepting the old "-5" form.
func lineCount(tc *toolCtx, args []string) (int, []string, error) {
	if len(args) > 1 {
		if n, err := strconv.Atoi(strings.TrimPrefix(args[1], "-")); err == nil &&
			strings.HasPrefix(args[1], "-") {
			return n, parseFlags(args[2:], "").operands, nil
		}
	}
	f := parseFlags(args[1:], "nc")
	n := 10
	if v, ok := f.val['n']; ok {
		var err error
		if n, err = strconv.Atoi(strings.TrimPrefix(v, "+")); err != nil || n < 0 {
			return 0, nil, tc.fail("invalid number of lines: '%s'", v)
		}
	}

	return n, f.operands, nil
}

// toolHead prints the first -n lines of each input.
func toolHead(tc *toolCtx, args []string) error {
	n, operands, err := lineCount(tc, args)
	if err != nil {
		return err
	}

	return tc.eachInput(operands, func(_ string, r io.Reader) error {
		br := bufio.NewReader(r)
		for i := 0; i < n; i++ {
			line, err := br.ReadString('\n')
			io.WriteString(tc.stdout, line)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// toolTail prints the last -n lines of each input.
func toolTail(tc *toolCtx, args []string) error {
	n, operands, err := lineCount(tc, args)
	if err != nil {
		return err
	}

	return tc.eachInput(operands, func(_ string, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		_, err = tc.stdout.Write(bytes.Join(lines, nil))
		return err
	})
}

// toolWc counts lines (-l), words (-w) and bytes (-c) like GNU wc.
func toolWc(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	show := []rune{'l', 'w', 'c'}
	if f.set['l'] || f.set['w'] || f.set['c'] || f.set['m'] {
		show = nil
		for _, c := range "lwcm" {
			if f.set[c] {
				show = append(show, c)
			}
		}
	}

	return tc.eachInput(f.operands, func(name string, r io.Reader) error {
		var lines, words, chars int
		inWord := false
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			for _, c := range buf[:n] {
				chars++
				if c == '\n' {
					lines++
				}
				space := c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
				if !space && !inWord {
					words++
				}
				inWord = !space
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}

		var out []string
		for _, c := range show {
			v := map[rune]int{'l': lines, 'w': words, 'c': chars, 'm': chars}[c]
			if len(show) > 1 {
				out = append(out, fmt.Sprintf("%7d", v))
			} else {
				out = append(out, strconv.Itoa(v))
			}
		}
		if name != "-" {
			out = append(out, name)
		}
		_, err := fmt.Fprintln(tc.stdout, strings.Join(out, " "))
		return err
	})
}

// toolTee copies stdin to stdout and to each file (-a appends).
func toolTee(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "")
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if f.set['a'] {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}

	writers := []io.Writer{tc.stdout}
	status := 0
	for _, op := range f.operands {
		file, err := tc.st.box.openFile(tc.dir, op, flag, 0o644)
		if err != nil {
			fmt.Fprintf(tc.stderr, "tee: %s: %v\n", op, unwrapPath(err))
			status = 1
			continue
		}
		defer file.Close()
		writers = append(writers, file)
	}
	if _, err := io.Copy(io.MultiWriter(writers...), tc.input()); err != nil {
		if tc.ctx.Err() != nil {
			return tc.ctx.Err()
		}
		return tc.fail("%v", err)
	}

	return exitCode(status)
}

// toolGrep prints lines containing any of its fixed strings: -q quiet, -v invert, -i ignore
// case, -c count, -x whole line. The patterns are each -e value, or else the first operand,
// and a pattern holding newlines is one pattern per line, as in GNU grep. Patterns are
// matched literally (-E and -F are accepted).
func toolGrep(tc *toolCtx, args []string) error {
	f := parseFlags(args[1:], "e")
	given := f.vals['e']
	if len(given) == 0 {
		if len(f.operands) == 0 {
			return tc.failCode(2, "usage: grep [-qvicx] PATTERN [FILE...]")
		}
		given, f.operands = f.operands[:1], f.operands[1:]
	}
	var patterns []string
	for _, p := range given {
		if f.set['i'] {
			p = strings.ToLower(p)
		}
		patterns = append(patterns, strings.Split(p, "\n")...)
	}
	names := len(f.operands) > 1

	matched := false
	err := tc.eachInput(f.operands, func(name string, r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 16<<20)
		count := 0
		for sc.Scan() {
			line := sc.Text()
			subject := line
			if f.set['i'] {
				subject = strings.ToLower(line)
			}
			hit := slices.ContainsFunc(patterns, func(p string) bool {
				if f.set['x'] {
					return subject == p
				}
				return strings.Contains(subject, p)
			})
			if hit == f.set['v'] {
				continue
			}
			matched, count = true, count+1
			switch {
			case f.set['q']:
				return nil
			case f.set['c']:
			case names:
				fmt.Fprintf(tc.stdout, "%s:%s\n", name, line)
			default:
				fmt.Fprintln(tc.stdout, line)
			}
		}
		if f.set['c'] {
			if names {
				fmt.Fprintf(tc.stdout, "%s:", name)
			}
			fmt.Fprintln(tc.stdout, count)
		}
		return sc.Err()
	})
	if err != nil {
		if tc.ctx.Err() != nil {
			return err
		}
		return exitCode(2)
	}

	return exitCode(map[bool]int{true: 0, false: 1}[matched])
}
