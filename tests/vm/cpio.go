package vm

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// cpioWriter writes the "newc" format the kernel unpacks into its initramfs.
type cpioWriter struct {
	w    io.Writer
	ino  int
	dirs map[string]bool
}

func newCpio(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, dirs: map[string]bool{"": true, ".": true, "/": true}}
}

func (c *cpioWriter) header(name string, mode uint32, size int) error {
	c.ino++
	name = strings.TrimPrefix(name, "/")
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	if _, err := io.WriteString(c.w, hdr+name+"\x00"); err != nil {
		return err
	}
	return c.pad(len(hdr) + len(name) + 1)
}

func (c *cpioWriter) pad(n int) error {
	if r := n % 4; r != 0 {
		_, err := c.w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

// Dir adds a directory and any missing parents.
func (c *cpioWriter) Dir(name string) error {
	name = path.Clean("/" + name)
	if c.dirs[name] {
		return nil
	}
	if err := c.Dir(path.Dir(name)); err != nil {
		return err
	}
	c.dirs[name] = true
	return c.header(name, 0o040755, 0)
}

// File adds a regular file with its parents.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) error {
	if err := c.Dir(path.Dir(path.Clean("/" + name))); err != nil {
		return err
	}
	if err := c.header(name, 0o100000|uint32(perm.Perm()), len(data)); err != nil {
		return err
	}
	if _, err := c.w.Write(data); err != nil {
		return err
	}
	return c.pad(len(data))
}

// Symlink adds name pointing at target.
func (c *cpioWriter) Symlink(name, target string) error {
	if err := c.Dir(path.Dir(path.Clean("/" + name))); err != nil {
		return err
	}
	if err := c.header(name, 0o120777, len(target)); err != nil {
		return err
	}
	if _, err := io.WriteString(c.w, target); err != nil {
		return err
	}
	return c.pad(len(target))
}

// Close writes the trailer.
func (c *cpioWriter) Close() error {
	return c.header("TRAILER!!!", 0, 0)
}
