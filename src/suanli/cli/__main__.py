from suanli.cli import main

main()
