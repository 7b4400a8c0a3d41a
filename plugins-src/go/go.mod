module xxplugin-go

go 1.24
