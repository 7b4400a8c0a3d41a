//go:build !wasm

// Not part of the helper (plugin authors copy xxplugin.go alone). This empty assembly file lets
// the package compile for the machine running `go test`: with an assembly file in the package,
// the compiler accepts the host imports' body-less declarations, which the tests never reach.
