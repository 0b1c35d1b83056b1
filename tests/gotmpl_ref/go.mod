module gotmplref

go 1.19
