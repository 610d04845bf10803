"""Where the program starts: the `arqium` command."""
