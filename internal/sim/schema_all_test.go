package sim

import "testing"

func TestSchemaServedMethodsCompile(t *testing.T) {
	set, err := loadSchemas(methodsFile)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ver: versions[0]}
	for name := range s.methods() {
		m, ok := set.methods[name]
		if !ok {
			continue // private methods are not in the file
		}
		if _, err := set.compile(name, m); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
