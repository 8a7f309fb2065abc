from mistudio.cli import main

main()
