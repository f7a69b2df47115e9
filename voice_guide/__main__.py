from voice_guide.cli import main

main()
