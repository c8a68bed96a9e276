package engine

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestGsubMatchesLua checks the linear gsub against Lua 5.1's documented behaviour.
func TestGsubMatchesLua(t *testing.T) {
	cases := []struct{ code, want string }{
		{`return (string.gsub("hello world", "o", "0"))`, "hell0 w0rld"},
		{`return select(2, string.gsub("hello world", "o", "0"))`, "2"},
		{`return (string.gsub("hello world", "(%w+)", "<%1>"))`, "<hello> <world>"},
		{`return (string.gsub("hello", "", "-"))`, "-h-e-l-l-o-"},
		{`return (string.gsub("abc", "%w", "%0%0"))`, "aabbcc"},
		{`return (string.gsub("abc", "%w", "%%"))`, "%%%"},
		{`return (string.gsub("hello world", "%w+", "%0 %0", 1))`, "hello hello world"},
		{`return (string.gsub("$name is $age", "%$(%w+)", {name = "ada", age = 36}))`, "ada is 36"},
		{`return (string.gsub("$x $y", "%$(%w+)", {x = false}))`, "$x $y"},
		{`return (string.gsub("abc", "%w", function(c) return c:upper() .. "." end))`, "A.B.C."},
		{`return (string.gsub("abc", "()b", "%1"))`, "a2c"},
		{`return (string.gsub("k=v, a=b", "(%w+)=(%w+)", "%2=%1"))`, "v=k, b=a"},
		{`local ok, e = pcall(string.gsub, "abc", "(b)", "%2") return tostring(ok)`, "false"},
		{`return (("x"):rep(3):gsub("x", "y"))`, "yyy"},
	}
	for _, tc := range cases {
		L := lua.NewState()
		L.GetGlobal("string").(*lua.LTable).RawSetString("gsub", L.NewFunction(gsub))
		if err := L.DoString(tc.code); err != nil {
			t.Errorf("%s: %v", tc.code, err)
		} else if got := L.Get(-1).String(); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.code, got, tc.want)
		}
		L.Close()
	}
}

func TestGsubHugeStringHonoursContext(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.GetGlobal("string").(*lua.LTable).RawSetString("gsub", L.NewFunction(gsub))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	if err := L.DoString(`local s = ("x"):rep(100000) return s:gsub("x", "yy")`); err == nil {
		t.Fatal("gsub ran to the end under a cancelled context")
	}
}

func BenchmarkGsubLarge(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	L.GetGlobal("string").(*lua.LTable).RawSetString("gsub", L.NewFunction(gsub))
	for i := 0; i < b.N; i++ {
		if err := L.DoString(`local s = ("x"):rep(200000) s:gsub("x", "yy")`); err != nil {
			b.Fatal(err)
		}
	}
}
